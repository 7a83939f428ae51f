import type { BlockContext } from './block.js';
import { readAttributes } from './json-any.js';
import { K_ATTRIBUTES, K_NAME, K_VERSION } from './json-keys.js';
import type { JsonReader } from './json-reader.js';

/** Reads an OTLP/JSON Resource (tape index, -1 when absent) and its schema URL. */
export function readJsonResource(
  r: JsonReader,
  ctx: BlockContext,
  resource: number,
  schemaUrl: number,
): void {
  ctx.beginResource();
  const o = r.object(resource, 'resource');
  if (o >= 0) {
    readAttributes(r, ctx.resourceAttrs, r.member(o, K_ATTRIBUTES), 'resource.attributes');
  }
  r.appendString(ctx.resourceText, schemaUrl, 'schema_url');
  ctx.endResource();
}

/** Reads an OTLP/JSON InstrumentationScope (-1 when absent) and its schema URL. */
export function readJsonScope(
  r: JsonReader,
  ctx: BlockContext,
  scope: number,
  schemaUrl: number,
): void {
  ctx.beginScope();
  const o = r.object(scope, 'scope');
  const t = ctx.scopeText;
  if (o >= 0) {
    readAttributes(r, ctx.scopeAttrs, r.member(o, K_ATTRIBUTES), 'scope.attributes');
    r.appendString(t, r.member(o, K_NAME), 'scope.name');
    r.appendString(t, r.member(o, K_VERSION), 'scope.version');
  } else {
    r.appendString(t, -1, '');
    r.appendString(t, -1, '');
  }
  r.appendString(t, schemaUrl, 'schema_url');
  ctx.endScope();
}
