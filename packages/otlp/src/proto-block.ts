import type { BlockContext } from './block.js';
import type { ProtoReader } from './proto-reader.js';
import { readKeyValue } from './proto-values.js';

const RESOURCE_KNOWN = (1 << 1) | (1 << 2) | (1 << 3);
const SCOPE_KNOWN = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4);

/**
 * Reads a Resource message `[start, end)` (or none when `start < 0`) and the
 * enclosing Resource* message's schema_url `[urlStart, urlEnd)` into the context.
 * Resource.dropped_attributes_count and entity_refs are read past (not stored).
 */
export function readResource(
  r: ProtoReader,
  ctx: BlockContext,
  start: number,
  end: number,
  urlStart: number,
  urlEnd: number,
): void {
  ctx.beginResource();
  if (start >= 0) {
    r.pos = start;
    while (r.pos < end) {
      const tag = r.varint();
      if (tag === 10) {
        const e = r.lenEnd(end);
        readKeyValue(r, e, ctx.resourceAttrs);
      } else if (tag === 16) {
        r.varint64();
      } else {
        r.skip(tag, end, RESOURCE_KNOWN);
      }
    }
    r.checkEnd(end);
  }
  ctx.resourceText.appendBytes(r.buf, r.view, urlStart, urlEnd);
  ctx.endResource();
}

/** Reads an InstrumentationScope `[start, end)` (none when `start < 0`) into the context. */
export function readScope(
  r: ProtoReader,
  ctx: BlockContext,
  start: number,
  end: number,
  urlStart: number,
  urlEnd: number,
): void {
  ctx.beginScope();
  let ns = 0;
  let ne = 0;
  let vs = 0;
  let ve = 0;
  if (start >= 0) {
    r.pos = start;
    while (r.pos < end) {
      const tag = r.varint();
      switch (tag) {
        case 10:
          ne = r.lenEnd(end);
          ns = r.pos;
          r.pos = ne;
          break;
        case 18:
          ve = r.lenEnd(end);
          vs = r.pos;
          r.pos = ve;
          break;
        case 26: {
          const e = r.lenEnd(end);
          readKeyValue(r, e, ctx.scopeAttrs);
          break;
        }
        case 32:
          r.varint64();
          break;
        default:
          r.skip(tag, end, SCOPE_KNOWN);
      }
    }
    r.checkEnd(end);
  }
  const t = ctx.scopeText;
  t.appendBytes(r.buf, r.view, ns, ne);
  t.appendBytes(r.buf, r.view, vs, ve);
  t.appendBytes(r.buf, r.view, urlStart, urlEnd);
  ctx.endScope();
}

/**
 * First pass over a ResourceX / ScopeX message: finds its field 1 (resource or
 * scope) and field 3 (schema_url), skipping the repeated field 2. Results in `out`:
 * [field1Start (-1: absent), field1End, urlStart, urlEnd]. Validates the wire format
 * of the whole message on the way.
 */
export function scanHeader(r: ProtoReader, start: number, end: number, out: Int32Array): void {
  out[0] = -1;
  out[1] = 0;
  out[2] = 0;
  out[3] = 0;
  r.pos = start;
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === 10) {
      const e = r.lenEnd(end);
      out[0] = r.pos;
      out[1] = e;
      r.pos = e;
    } else if (tag === 18) {
      r.pos = r.lenEnd(end);
    } else if (tag === 26) {
      const e = r.lenEnd(end);
      out[2] = r.pos;
      out[3] = e;
      r.pos = e;
    } else {
      r.skip(tag, end, (1 << 1) | (1 << 2) | (1 << 3));
    }
  }
  r.checkEnd(end);
}
