import { readFileSync } from 'node:fs';
import { DataType, type Struct } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import {
  SCHEMA_VERSION_METADATA_KEY,
  TABLE_METADATA_KEY,
  TABLE_NAMES,
  TABLE_SCHEMAS,
} from './schemas.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('table schemas', () => {
  it.each(TABLE_NAMES)('%s carries its name in the schema metadata', (name) => {
    const s = TABLE_SCHEMAS[name];
    expect(s.metadata.get(TABLE_METADATA_KEY)).toBe(name);
    expect(s.metadata.get(SCHEMA_VERSION_METADATA_KEY)).toBe('1');
  });

  it.each(TABLE_NAMES)('%s starts with the resource/scope block and has a timestamp', (name) => {
    const fields = TABLE_SCHEMAS[name].fields;
    expect(fields.slice(0, 7).map((f) => f.name)).toEqual([
      'resource_attributes',
      'resource_schema_url',
      'service_name',
      'scope_name',
      'scope_version',
      'scope_attributes',
      'scope_schema_url',
    ]);
    const ts = fields.find((f) => f.name === 'timestamp')!;
    expect(String(ts.type)).toBe('Timestamp<NANOSECOND, UTC>');
    expect(ts.nullable).toBe(false);
  });

  it.each(TABLE_NAMES)('every %s column (nested ones too) is documented in the README', (name) => {
    const names = new Set<string>();
    const walk = (fields: readonly { name: string; type: DataType }[]) => {
      for (const f of fields) {
        names.add(f.name);
        const t = f.type;
        if (DataType.isList(t) && DataType.isStruct(t.valueType))
          walk((t.valueType as Struct).children);
      }
    };
    walk(TABLE_SCHEMAS[name].fields);
    for (const n of ['item', 'entries', 'key', 'value']) names.delete(n);
    const missing = [...names].filter((n) => !readme.includes(`\`${n}\``));
    expect(missing).toEqual([]);
    expect(readme).toContain(`\`${name}\``);
  });

  it('dictionary ids are unique within each schema', () => {
    for (const name of TABLE_NAMES) {
      const ids = TABLE_SCHEMAS[name].fields
        .filter((f) => DataType.isDictionary(f.type))
        .map((f) => (f.type as { id: number }).id);
      expect(new Set(ids).size).toBe(ids.length);
    }
  });
});
