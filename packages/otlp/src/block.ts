import type { Data, Dictionary, Field, Map_, Struct, Utf8 } from 'apache-arrow';
import { listData, structData, utf8Data } from './arrow-data.js';
import { type Budget, ResultArena } from './budget.js';
import { DictColumn } from './col-dict.js';
import { packBits } from './col-fixed.js';
import { MapColumn } from './col-map.js';
import { Utf8Column } from './col-utf8.js';
import { bytesEqual } from './text.js';

const SERVICE_NAME = new TextEncoder().encode('service.name');

/**
 * The resource and scope currently being decoded, rendered once. Decoders fill it
 * (from protobuf bytes or from JSON) and call `fill` on the table's BlockColumns
 * after each scope; the block is copied onto the rows when the batch is finished.
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
  /** Changes whenever the resource or the scope changes. */
  version = 0;

  constructor(budget: Budget) {
    this.resourceAttrs = new MapColumn(budget, 'resource attributes', 1, 32);
    this.scopeAttrs = new MapColumn(budget, 'scope attributes', 1, 8);
    this.resourceText = new Utf8Column(budget, 'resource schema_url', 1, 64);
    this.scopeText = new Utf8Column(budget, 'scope name/version/schema_url', 3, 128);
  }

  /** Prepares for a new decode. */
  reset(budget: Budget): void {
    this.resourceAttrs.reset(budget, 1, 32);
    this.scopeAttrs.reset(budget, 1, 8);
    this.resourceText.reset(budget, 1, 64);
    this.scopeText.reset(budget, 3, 128);
    this.serviceEntry = -1;
    this.version++;
  }

  beginResource(): void {
    this.resourceAttrs.clear();
    this.resourceText.clear();
    this.serviceEntry = -1;
    this.version++;
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
    this.scopeAttrs.clear();
    this.scopeText.clear();
    this.version++;
  }

  /** Call after the attributes and the three strings were appended. */
  endScope(): void {
    this.scopeAttrs.endRow();
    this.scopeAttrs.keys.validate();
    this.scopeAttrs.values.validate();
    this.scopeText.validate();
  }
}

let pooledContext: BlockContext | null = null;

/**
 * The block context for a new decode. Decoders are synchronous, so one context (and
 * one set of column buffers per table) is reused from one decode to the next.
 */
export function acquireBlockContext(budget: Budget): BlockContext {
  if (pooledContext === null) pooledContext = new BlockContext(budget);
  else pooledContext.reset(budget);
  return pooledContext;
}

/** A Map row frozen out of the context: its entries' bytes and offsets. */
interface MapSnapshot {
  readonly n: number;
  readonly keyBytes: Uint8Array;
  /** n + 1 offsets, starting at 0. */
  readonly keyOffsets: Int32Array;
  readonly valueBytes: Uint8Array;
  readonly valueOffsets: Int32Array;
  /** Byte per entry, 0 = null value; null when no value is null. */
  readonly valueValid: Uint8Array | null;
  readonly nulls: number;
}

function snapshotMap(m: MapColumn): MapSnapshot {
  const k = m.keys;
  const v = m.values;
  const n = k.length;
  return {
    n,
    keyBytes: k.bytes.slice(0, k.byteLength),
    keyOffsets: k.offsets.slice(0, n + 1),
    valueBytes: v.bytes.slice(0, v.byteLength),
    valueOffsets: v.offsets.slice(0, n + 1),
    valueValid: v.nullCount > 0 && v.valid !== null ? v.valid.slice(0, n) : null,
    nulls: v.nullCount,
  };
}

/** One resource + scope, as its rows will show it. */
interface Template {
  readonly resource: MapSnapshot;
  readonly scope: MapSnapshot;
  readonly resourceSchemaUrl: number;
  /** Dictionary index, or -1 for null. */
  readonly serviceName: number;
  readonly scopeName: number;
  readonly scopeVersion: number;
  readonly scopeSchemaUrl: number;
}

function lookup(dict: DictColumn, text: Utf8Column, i: number): number {
  return dict.lookupBytes(text.bytes, text.offsets[i]!, text.offsets[i + 1]!);
}

/**
 * The seven resource/scope columns every table starts with. Rows are recorded as
 * runs (`count` rows of one resource + scope) and written out by `finish`, straight
 * into exactly sized buffers: the resource attributes, repeated on every row, are
 * the largest part of most batches and are copied exactly once.
 */
export class BlockColumns {
  private readonly resourceSchemaUrl: DictColumn;
  private readonly serviceName: DictColumn;
  private readonly scopeName: DictColumn;
  private readonly scopeVersion: DictColumn;
  private readonly scopeSchemaUrl: DictColumn;
  private templates: Template[] = [];
  /** Pairs (row count, template index). */
  private runs: number[] = [];
  private lastVersion = -1;
  private budget: Budget;
  /** Result buffers of transient decodes (the map columns are written here). */
  private readonly arena = new ResultArena();
  /** Rows covered so far. */
  length = 0;

  constructor(budget: Budget, rows: number) {
    this.budget = budget;
    this.resourceSchemaUrl = new DictColumn(budget, 'resource_schema_url', [], rows);
    this.serviceName = new DictColumn(budget, 'service_name', [], rows);
    this.scopeName = new DictColumn(budget, 'scope_name', [], rows);
    this.scopeVersion = new DictColumn(budget, 'scope_version', [], rows);
    this.scopeSchemaUrl = new DictColumn(budget, 'scope_schema_url', [], rows);
  }

  reset(budget: Budget, rows: number): void {
    this.budget = budget;
    this.arena.reset();
    this.resourceSchemaUrl.reset(budget, rows);
    this.serviceName.reset(budget, rows);
    this.scopeName.reset(budget, rows);
    this.scopeVersion.reset(budget, rows);
    this.scopeSchemaUrl.reset(budget, rows);
    this.templates = [];
    this.runs = [];
    this.lastVersion = -1;
    this.length = 0;
  }

  /** Records the rows not yet covered, up to `rows`, as the context's resource and scope. */
  fillTo(rows: number, ctx: BlockContext): void {
    this.fill(rows - this.length, ctx);
  }

  /** Records `count` more rows of the context's resource and scope. */
  fill(count: number, ctx: BlockContext): void {
    if (count <= 0) return;
    if (ctx.version !== this.lastVersion) {
      const resource = snapshotMap(ctx.resourceAttrs);
      const scope = snapshotMap(ctx.scopeAttrs);
      this.budget.charge(
        resource.keyBytes.length + resource.valueBytes.length + 8 * resource.n + 64,
      );
      this.templates.push({
        resource,
        scope,
        resourceSchemaUrl: lookup(this.resourceSchemaUrl, ctx.resourceText, 0),
        serviceName:
          ctx.serviceEntry < 0
            ? -1
            : lookup(this.serviceName, ctx.resourceAttrs.values, ctx.serviceEntry),
        scopeName: lookup(this.scopeName, ctx.scopeText, 0),
        scopeVersion: lookup(this.scopeVersion, ctx.scopeText, 1),
        scopeSchemaUrl: lookup(this.scopeSchemaUrl, ctx.scopeText, 2),
      });
      this.lastVersion = ctx.version;
    }
    const t = this.templates.length - 1;
    const runs = this.runs;
    if (runs.length > 0 && runs[runs.length - 1] === t) runs[runs.length - 2]! += count;
    else runs.push(count, t);
    this.length += count;
    // The finished map columns repeat the attributes on every row: account for them.
    const tpl = this.templates[t]!;
    this.budget.charge(
      count *
        (tpl.resource.keyBytes.length +
          tpl.resource.valueBytes.length +
          tpl.scope.keyBytes.length +
          tpl.scope.valueBytes.length +
          8 * (tpl.resource.n + tpl.scope.n) +
          28),
    );
  }

  /** Arrow data of the seven columns, in schema order (`fields` = the first seven). */
  finish(fields: readonly Field[]): Data[] {
    const t = (i: number) => fields[i]!.type;
    for (let r = 0; r < this.runs.length; r += 2) {
      const count = this.runs[r]!;
      const tpl = this.templates[this.runs[r + 1]!]!;
      this.resourceSchemaUrl.appendRepeated(tpl.resourceSchemaUrl, count);
      if (tpl.serviceName < 0) this.serviceName.appendNullRepeated(count);
      else this.serviceName.appendRepeated(tpl.serviceName, count);
      this.scopeName.appendRepeated(tpl.scopeName, count);
      this.scopeVersion.appendRepeated(tpl.scopeVersion, count);
      this.scopeSchemaUrl.appendRepeated(tpl.scopeSchemaUrl, count);
    }
    return [
      this.mapData(t(0) as Map_<Utf8, Utf8>, (x) => x.resource),
      this.resourceSchemaUrl.finish(t(1) as Dictionary<Utf8>),
      this.serviceName.finish(t(2) as Dictionary<Utf8>),
      this.scopeName.finish(t(3) as Dictionary<Utf8>),
      this.scopeVersion.finish(t(4) as Dictionary<Utf8>),
      this.mapData(t(5) as Map_<Utf8, Utf8>, (x) => x.scope),
      this.scopeSchemaUrl.finish(t(6) as Dictionary<Utf8>),
    ];
  }

  /** A Map column repeating each run's snapshot, written into exactly sized buffers. */
  private mapData(type: Map_<Utf8, Utf8>, pick: (t: Template) => MapSnapshot): Data {
    const runs = this.runs;
    const rows = this.length;
    let entries = 0;
    let keyBytes = 0;
    let valueBytes = 0;
    let nulls = 0;
    for (let r = 0; r < runs.length; r += 2) {
      const c = runs[r]!;
      const m = pick(this.templates[runs[r + 1]!]!);
      entries += c * m.n;
      keyBytes += c * m.keyBytes.length;
      valueBytes += c * m.valueBytes.length;
      nulls += c * m.nulls;
    }
    // Transient decodes write into the reused arena; others into buffers of their own.
    const a = this.budget.transient ? this.arena : undefined;
    const offsets = a ? a.int32(rows + 1) : new Int32Array(rows + 1);
    const ko = a ? a.int32(entries + 1) : new Int32Array(entries + 1);
    const kb = a ? a.uint8(keyBytes) : new Uint8Array(keyBytes);
    const vo = a ? a.int32(entries + 1) : new Int32Array(entries + 1);
    const vb = a ? a.uint8(valueBytes) : new Uint8Array(valueBytes);
    const valid = nulls > 0 ? (a ? a.uint8(entries) : new Uint8Array(entries)).fill(1) : null;
    // Every other element is written below; arena memory is not zeroed.
    offsets[0] = 0;
    ko[0] = 0;
    vo[0] = 0;
    let row = 0;
    let e = 0;
    let kp = 0;
    let vp = 0;
    for (let r = 0; r < runs.length; r += 2) {
      const c = runs[r]!;
      const m = pick(this.templates[runs[r + 1]!]!);
      const n = m.n;
      const mk = m.keyOffsets;
      const mv = m.valueOffsets;
      const kl = m.keyBytes.length;
      const vl = m.valueBytes.length;
      // Bytes: one copy of the snapshot, then doubling copies within the buffer.
      if (kl > 0) fillRepeated(kb, kp, m.keyBytes, c);
      if (vl > 0) fillRepeated(vb, vp, m.valueBytes, c);
      if (valid !== null && m.valueValid !== null) fillRepeated(valid, e, m.valueValid, c);
      for (let i = 0; i < c; i++) {
        for (let k = 1; k <= n; k++) {
          ko[e + k] = kp + mk[k]!;
          vo[e + k] = vp + mv[k]!;
        }
        kp += kl;
        vp += vl;
        e += n;
        offsets[++row] = e;
      }
    }
    const entriesType = type.children[0]!.type as Struct<{ key: Utf8; value: Utf8 }>;
    const [keyField, valueField] = entriesType.children;
    const keys = utf8Data(keyField!.type as Utf8, entries, ko, kb);
    const values =
      valid === null
        ? utf8Data(valueField!.type as Utf8, entries, vo, vb)
        : utf8Data(valueField!.type as Utf8, entries, vo, vb, nulls, packBits(valid, entries));
    const child = structData(entriesType, entries, [keys, values]);
    return listData(type, rows, offsets, child);
  }
}

/** Writes `count` consecutive copies of `src` into `dst` at `pos`. */
function fillRepeated(dst: Uint8Array, pos: number, src: Uint8Array, count: number): void {
  const len = src.length;
  dst.set(src, pos);
  let done = 1;
  while (done < count) {
    const n = Math.min(done, count - done);
    dst.copyWithin(pos + done * len, pos, pos + n * len);
    done += n;
  }
}
