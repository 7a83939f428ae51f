import type { Data, Dictionary, Field, Map_, Utf8 } from 'apache-arrow';
import type { Budget } from './budget.js';
import { DictColumn } from './col-dict.js';
import { MapColumn } from './col-map.js';
import { Utf8Column } from './col-utf8.js';
import { bytesEqual } from './text.js';

const SERVICE_NAME = new TextEncoder().encode('service.name');

/**
 * The resource and scope currently being decoded, rendered once and then copied onto
 * every row they cover. Decoders fill it (from protobuf bytes or from JSON) and
 * call `fill` on the table's BlockColumns after each scope.
 */
export class BlockContext {
  /** Resource attributes as one Map row (duplicate keys removed). */
  readonly resourceAttrs: MapColumn;
  /** Scope attributes as one Map row. */
  readonly scopeAttrs: MapColumn;
  /** [0] resource schema URL. */
  readonly resourceText: Utf8Column;
  /** [0] scope name, [1] scope version, [2] scope schema URL. */
  readonly scopeText: Utf8Column;
  /** Entry of `resourceAttrs` holding service.name, or -1. */
  serviceEntry = -1;

  constructor(budget: Budget) {
    this.resourceAttrs = new MapColumn(budget, 'resource attributes', 1, 32);
    this.scopeAttrs = new MapColumn(budget, 'scope attributes', 1, 8);
    this.resourceText = new Utf8Column(budget, 'resource schema_url', 1, 64);
    this.scopeText = new Utf8Column(budget, 'scope name/version/schema_url', 3, 128);
  }

  beginResource(): void {
    this.resourceAttrs.reset();
    this.resourceText.reset();
    this.serviceEntry = -1;
  }

  /** Call after the attributes and the schema URL were appended. */
  endResource(): void {
    this.resourceAttrs.endRow();
    const keys = this.resourceAttrs.keys;
    const ko = keys.offsets;
    for (let i = 0; i < keys.length; i++) {
      if (bytesEqual(keys.bytes, ko[i]!, ko[i + 1]!, SERVICE_NAME, 0, SERVICE_NAME.length)) {
        this.serviceEntry = this.resourceAttrs.values.isNull(i) ? -1 : i;
        break;
      }
    }
    // Strings of a resource with no rows are still part of the request: validate now.
    keys.validate();
    this.resourceAttrs.values.validate();
    this.resourceText.validate();
  }

  beginScope(): void {
    this.scopeAttrs.reset();
    this.scopeText.reset();
  }

  /** Call after the attributes and the three strings were appended. */
  endScope(): void {
    this.scopeAttrs.endRow();
    this.scopeAttrs.keys.validate();
    this.scopeAttrs.values.validate();
    this.scopeText.validate();
  }
}

function lookup(dict: DictColumn, text: Utf8Column, i: number): number {
  return dict.lookupBytes(text.bytes, text.offsets[i]!, text.offsets[i + 1]!);
}

/** The seven resource/scope columns every table starts with. */
export class BlockColumns {
  readonly resourceAttributes: MapColumn;
  readonly resourceSchemaUrl: DictColumn;
  readonly serviceName: DictColumn;
  readonly scopeName: DictColumn;
  readonly scopeVersion: DictColumn;
  readonly scopeAttributes: MapColumn;
  readonly scopeSchemaUrl: DictColumn;

  constructor(budget: Budget, rows: number) {
    this.resourceAttributes = new MapColumn(budget, 'resource_attributes', rows, rows * 8);
    this.resourceSchemaUrl = new DictColumn(budget, 'resource_schema_url', [], rows);
    this.serviceName = new DictColumn(budget, 'service_name', [], rows);
    this.scopeName = new DictColumn(budget, 'scope_name', [], rows);
    this.scopeVersion = new DictColumn(budget, 'scope_version', [], rows);
    this.scopeAttributes = new MapColumn(budget, 'scope_attributes', rows, 16);
    this.scopeSchemaUrl = new DictColumn(budget, 'scope_schema_url', [], rows);
  }

  get length(): number {
    return this.scopeName.length;
  }

  /** Appends `count` rows of the context's resource and scope. */
  fill(count: number, ctx: BlockContext): void {
    if (count <= 0) return;
    this.resourceAttributes.appendRepeated(ctx.resourceAttrs, count);
    this.resourceSchemaUrl.appendRepeated(
      lookup(this.resourceSchemaUrl, ctx.resourceText, 0),
      count,
    );
    if (ctx.serviceEntry < 0) this.serviceName.appendNullRepeated(count);
    else {
      const idx = lookup(this.serviceName, ctx.resourceAttrs.values, ctx.serviceEntry);
      this.serviceName.appendRepeated(idx, count);
    }
    this.scopeName.appendRepeated(lookup(this.scopeName, ctx.scopeText, 0), count);
    this.scopeVersion.appendRepeated(lookup(this.scopeVersion, ctx.scopeText, 1), count);
    this.scopeAttributes.appendRepeated(ctx.scopeAttrs, count);
    this.scopeSchemaUrl.appendRepeated(lookup(this.scopeSchemaUrl, ctx.scopeText, 2), count);
  }

  /** Arrow data of the seven columns, in schema order (`fields` = the first seven). */
  finish(fields: readonly Field[]): Data[] {
    const t = (i: number) => fields[i]!.type;
    return [
      this.resourceAttributes.finish(t(0) as Map_<Utf8, Utf8>),
      this.resourceSchemaUrl.finish(t(1) as Dictionary<Utf8>),
      this.serviceName.finish(t(2) as Dictionary<Utf8>),
      this.scopeName.finish(t(3) as Dictionary<Utf8>),
      this.scopeVersion.finish(t(4) as Dictionary<Utf8>),
      this.scopeAttributes.finish(t(5) as Map_<Utf8, Utf8>),
      this.scopeSchemaUrl.finish(t(6) as Dictionary<Utf8>),
    ];
  }
}
