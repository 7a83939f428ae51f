import { acquireBlockContext, type BlockContext } from './block.js';
import { Budget, defaultOutputLimit } from './budget.js';
import { readJsonResource, readJsonScope } from './json-block.js';
import { K_RESOURCE, K_SCHEMA_URL, K_SCHEMA_URL_, K_SCOPE } from './json-keys.js';
import { type JsonReader, jsonReader } from './json-reader.js';
import { KEY_SHIFT, KIND_MASK, scanJson, T_ARRAY } from './json-tape.js';
import { Rejections } from './rejections.js';
import type { DecodeOptions } from './result.js';

/**
 * The three repeated fields that lead from an OTLP/JSON request to its items: key ids
 * (lowerCamelCase and snake_case; -1 when both spellings are the same word) and the
 * proto field names used in paths.
 */
export interface JsonRequestShape {
  /** `resourceSpans` / `resource_spans`, … */
  readonly resources: number;
  readonly resources_: number;
  readonly resourcesField: string;
  /** `scopeSpans` / `scope_spans`, … */
  readonly scopes: number;
  readonly scopes_: number;
  readonly scopesField: string;
  /** `spans`, `logRecords` / `log_records`, `metrics` */
  readonly items: number;
  readonly items_: number;
  readonly itemsField: string;
}

/**
 * What the three OTLP/JSON request walkers share: scanning the body onto a tape, the
 * output budget, and the walk request → resources → scopes → items, with the resource
 * and scope (and their schema URLs) read into the block context on the way and every
 * level checked like the protobuf path (arrays of objects, `null` as absent, the
 * camelCase spelling winning unless null). A subclass decodes one item (tape index of
 * an object; the reader's path points at it) and, in `endScope`, records the rows the
 * scope added under the context's resource and scope. Decoders are single-use.
 */
export abstract class JsonRequestDecoder {
  readonly r: JsonReader;
  /** The request's output budget (for the subclass's column writers). */
  readonly budget: Budget;
  readonly ctx: BlockContext;
  readonly rejections: Rejections;

  /**
   * Scans `input` (throws InvalidInputError when it is not strict JSON).
   * `noun`: plural of the rejected items ("spans", "log records", "data points").
   */
  constructor(
    input: Uint8Array | string,
    options: DecodeOptions,
    private readonly shape: JsonRequestShape,
    noun: string,
  ) {
    this.r = jsonReader(scanJson(input));
    this.budget = new Budget(
      options.maxOutputBytes ?? defaultOutputLimit(input.length),
      options.transient ?? false,
    );
    this.ctx = acquireBlockContext(this.budget);
    this.rejections = new Rejections(noun);
  }

  /** Decodes the whole request; throws InvalidInputError when it is not valid OTLP/JSON. */
  run(): void {
    const r = this.r;
    const tape = r.tape;
    const shape = this.shape;
    const list = r.or(r.member(0, shape.resources), r.member(0, shape.resources_));
    const nr = r.array(list, shape.resourcesField);
    r.enter(shape.resourcesField);
    for (let ri = 0, e = list + 3; ri < nr; ri++, e = r.next(e)) {
      r.at(ri);
      r.item(e, '');
      let resource = -1;
      let urlC = -1;
      let urlS = -1;
      let scopesC = -1;
      let scopesS = -1;
      for (let i = 0, n = tape[e + 1]!, x = e + 3; i < n; i++) {
        const key = tape[x]! >>> KEY_SHIFT;
        if (key === K_RESOURCE) resource = x;
        else if (key === K_SCHEMA_URL) urlC = x;
        else if (key === K_SCHEMA_URL_) urlS = x;
        else if (key === shape.scopes) scopesC = x;
        else if (key === shape.scopes_) scopesS = x;
        x = (tape[x]! & KIND_MASK) <= T_ARRAY ? tape[x + 2]! : x + 3;
      }
      readJsonResource(r, this.ctx, resource, r.or(urlC, urlS));
      const scopes = r.or(scopesC, scopesS);
      const ns = r.array(scopes, shape.scopesField);
      r.enter(shape.scopesField);
      for (let si = 0, f = scopes + 3; si < ns; si++, f = r.next(f)) {
        r.at(si);
        r.item(f, '');
        this.scope(f);
      }
      r.leave();
    }
    r.leave();
  }

  /** Decodes the item at tape index `v` (an object; the reader's path is at it). */
  protected abstract item(v: number): void;

  /** The current scope's items are done: record its rows under the context's block. */
  protected abstract endScope(): void;

  private scope(f: number): void {
    const r = this.r;
    const tape = r.tape;
    const shape = this.shape;
    let scope = -1;
    let urlC = -1;
    let urlS = -1;
    let itemsC = -1;
    let itemsS = -1;
    for (let i = 0, n = tape[f + 1]!, x = f + 3; i < n; i++) {
      const key = tape[x]! >>> KEY_SHIFT;
      if (key === K_SCOPE) scope = x;
      else if (key === K_SCHEMA_URL) urlC = x;
      else if (key === K_SCHEMA_URL_) urlS = x;
      else if (key === shape.items) itemsC = x;
      else if (key === shape.items_) itemsS = x;
      x = (tape[x]! & KIND_MASK) <= T_ARRAY ? tape[x + 2]! : x + 3;
    }
    readJsonScope(r, this.ctx, scope, r.or(urlC, urlS));
    const items = r.or(itemsC, itemsS);
    const n = r.array(items, shape.itemsField);
    r.enter(shape.itemsField);
    for (let i = 0, v = items + 3; i < n; i++, v = tape[v + 2]!) {
      r.at(i);
      r.item(v, '');
      this.item(v);
    }
    r.leave();
    this.endScope();
  }
}
