import type { BlockContext } from '../../../src/block.js';
import { type JsonReader, readJsonAttributes } from './json-reader.js';

/** Reads an OTLP/JSON Resource (may be absent) and its schema URL into the context. */
export function readJsonResource(
  jr: JsonReader,
  ctx: BlockContext,
  resource: unknown,
  schemaUrl: unknown,
): void {
  ctx.beginResource();
  const r = jr.object(resource, 'resource');
  if (r !== null) readJsonAttributes(jr, ctx.resourceAttrs, r.attributes, 'resource.attributes');
  ctx.resourceText.appendString(jr.string(schemaUrl, 'schema_url'));
  ctx.endResource();
}

/** Reads an OTLP/JSON InstrumentationScope (may be absent) and its schema URL. */
export function readJsonScope(
  jr: JsonReader,
  ctx: BlockContext,
  scope: unknown,
  schemaUrl: unknown,
): void {
  ctx.beginScope();
  const s = jr.object(scope, 'scope');
  const t = ctx.scopeText;
  if (s !== null) {
    readJsonAttributes(jr, ctx.scopeAttrs, s.attributes, 'scope.attributes');
    t.appendString(jr.string(s.name, 'scope.name'));
    t.appendString(jr.string(s.version, 'scope.version'));
  } else {
    t.appendString('');
    t.appendString('');
  }
  t.appendString(jr.string(schemaUrl, 'schema_url'));
  ctx.endScope();
}
