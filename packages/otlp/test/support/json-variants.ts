/**
 * A JSON writer that spells one value in the many ways JSON and OTLP/JSON allow, and
 * in some they do not: random whitespace, characters written as \u escapes
 * (surrogate pairs for astral ones, now and then a lone surrogate), numbers as
 * exponents or with fractions, keys repeated (JSON.parse keeps the last), both the
 * lowerCamelCase and the snake_case spelling of a field, nulls, values of the wrong
 * type, AnyValues with several members, unknown fields holding anything. Its output
 * is always valid JSON; whether it is valid OTLP is for the decoders to say (the
 * differential test feeds it to the byte decoder and to the JSON.parse-based one).
 */
import type { Rng } from './generator.js';

export interface VariantOptions {
  /** Scales every deviation's probability (0: plain JSON.stringify-like output). */
  rate: number;
}

const JUNK: readonly unknown[] = [
  0,
  1,
  -1,
  1.5,
  -0,
  1e21,
  4294967296,
  '',
  'x',
  '7',
  ' 7 ',
  '-3',
  '1e3',
  '0x10',
  'NaN',
  'Infinity',
  '-Infinity',
  'AAAA',
  'QR==',
  'SPAN_KIND_SERVER',
  'STATUS_CODE_ERROR',
  'SEVERITY_NUMBER_WARN',
  'AGGREGATION_TEMPORALITY_DELTA',
  '18446744073709551615',
  '9223372036854775808',
  '0af7651916cd43dd8448eb211c80319c',
  'b7ad6b7169203331',
  '0000000000000000',
  true,
  false,
  null,
  {},
  [],
  [1, '2', null],
  { a: [1, { b: 'c' }] },
  { stringValue: 'junk' },
  { intValue: '5', boolValue: true },
  { arrayValue: { values: [{ intValue: 1 }, null] } },
  { kvlistValue: { values: [{ key: 'k' }, null] } },
  [{ key: 'k', value: { stringValue: 'v' } }],
];

const camelToSnake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const snakeToCamel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

export class VariantWriter {
  private out = '';
  /** > 0 while writing a junk value (written plainly, so output stays bounded). */
  private plain = 0;
  constructor(
    private readonly r: Rng,
    private readonly opts: VariantOptions,
  ) {}

  private chance(p: number): boolean {
    return this.opts.rate > 0 && this.plain === 0 && this.r.chance(p * this.opts.rate);
  }

  /** Writes a junk value. */
  private junkValue(depth: number): void {
    const v = this.junk(0);
    this.plain++;
    this.value(v, depth);
    this.plain--;
  }

  write(v: unknown): string {
    this.out = '';
    this.ws();
    this.value(v, 0);
    this.ws();
    return this.out;
  }

  private ws(): void {
    if (this.chance(0.03)) this.out += this.r.pick([' ', '\n', '\t', '\r\n', '  ', ' \t ']);
  }

  private junk(depth: number): unknown {
    if (depth > 3 || !this.chance(0.2)) return this.r.pick(JUNK);
    return { [this.r.pick(['x', 'values', 'value', 'key'])]: this.junk(depth + 1) };
  }

  private value(v: unknown, depth: number): void {
    if (depth < 40 && this.chance(0.004)) {
      this.junkValue(depth);
      return;
    }
    if (v === null || v === undefined) this.out += 'null';
    else if (typeof v === 'boolean') this.out += v ? 'true' : 'false';
    else if (typeof v === 'number') this.number(v);
    else if (typeof v === 'string') this.string(v);
    else if (Array.isArray(v)) this.array(v, depth);
    else this.object(v as Record<string, unknown>, depth);
  }

  private number(n: number): void {
    const r = this.r;
    if (!Number.isFinite(n)) {
      this.string(String(n));
      return;
    }
    if (this.chance(0.03)) {
      this.string(Object.is(n, -0) ? '-0' : String(n));
      return;
    }
    if (Object.is(n, -0)) {
      this.out += this.chance(0.5) ? '-0' : '0';
      return;
    }
    if (!this.chance(0.1)) {
      this.out += JSON.stringify(n);
      return;
    }
    switch (r.int(6)) {
      case 0:
        this.out += n.toExponential();
        return;
      case 1:
        this.out += n.toExponential().toUpperCase().replace('E+', 'E');
        return;
      case 2:
        this.out += Number.isInteger(n) ? `${n}.0` : JSON.stringify(n);
        return;
      case 3:
        this.out += n.toPrecision(17);
        return;
      case 4:
        this.out += Number.isInteger(n) && n !== 0 ? `${n}0e-1` : `${JSON.stringify(n)}e0`;
        return;
      default:
        this.out += Number.isInteger(n) ? `${n}00000000000000000000e-20` : `${n}E+0`;
    }
  }

  private string(s: string): void {
    if (!this.chance(0.1)) {
      this.out += JSON.stringify(s); // escapes exactly what must be escaped
      return;
    }
    let out = '"';
    for (const ch of s) {
      const c = ch.codePointAt(0)!;
      if (this.chance(0.01)) out += '\\ud800'; // a lone surrogate
      if (c === 0x22) out += '\\"';
      else if (c === 0x5c) out += '\\\\';
      else if (c < 0x20) {
        const short: Record<number, string> = { 8: 'b', 9: 't', 10: 'n', 12: 'f', 13: 'r' };
        out +=
          short[c] !== undefined && !this.chance(0.3)
            ? `\\${short[c]}`
            : `\\u${c.toString(16).padStart(4, '0')}`;
      } else if (c === 0x2f && this.chance(0.5)) out += '\\/';
      else if (this.chance(0.1)) {
        if (c > 0xffff) {
          const hi = 0xd800 + ((c - 0x10000) >> 10);
          const lo = 0xdc00 + ((c - 0x10000) & 0x3ff);
          out += `\\u${hi.toString(16)}\\u${lo.toString(16).toUpperCase()}`;
        } else out += `\\u${c.toString(16).padStart(4, '0')}`;
      } else out += ch;
    }
    this.out += `${out}"`;
  }

  private array(a: unknown[], depth: number): void {
    this.out += '[';
    let first = true;
    const sep = () => {
      if (!first) this.out += ',';
      first = false;
      this.ws();
    };
    for (const x of a) {
      if (this.chance(0.005)) {
        sep();
        this.junkValue(depth + 1);
      }
      sep();
      this.value(x, depth + 1);
      this.ws();
    }
    this.out += ']';
  }

  private object(o: Record<string, unknown>, depth: number): void {
    const r = this.r;
    this.out += '{';
    let first = true;
    const member = (k: string, v: unknown, junk = false) => {
      if (!first) this.out += ',';
      first = false;
      this.ws();
      this.string(k);
      this.ws();
      this.out += ':';
      this.ws();
      if (junk) this.junkValue(depth + 1);
      else this.value(v, depth + 1);
      this.ws();
    };
    const keys = Object.keys(o);
    if (this.chance(0.02)) {
      // AnyValue with several members / extra members of known names.
      const extra = r.pick(['stringValue', 'boolValue', 'intValue', 'doubleValue', 'bytesValue']);
      keys.splice(r.int(keys.length + 1), 0, `\u0000${extra}`);
    }
    for (const key of keys) {
      let k = key;
      let v: unknown = o[key];
      if (k.startsWith('\u0000')) {
        k = k.slice(1);
        v = r.pick([true, 7, '8', 2.5, 'AAE=', 'x']);
        if (this.chance(0.5)) k = camelToSnake(k);
      }
      if (this.chance(0.02)) member(`unknown${r.int(3)}`, null, true);
      if (this.chance(0.02)) member(k, null, true); // duplicate key: the later one counts
      if (this.chance(0.03)) {
        // Both spellings: camelCase wins unless it is null.
        const other = k.includes('_') ? snakeToCamel(k) : camelToSnake(k);
        if (other !== k) member(other, null, this.chance(0.5));
      }
      if (this.chance(0.01)) v = null;
      member(k, v);
      if (this.chance(0.005)) member(k, null, true);
    }
    this.out += '}';
  }
}

/** A smaller copy of `v`: every array longer than `max` cut to 1…max random elements. */
export function shrink(v: unknown, r: Rng, max = 3): unknown {
  if (Array.isArray(v)) {
    const out = v.length > max ? v.slice(0, 1 + r.int(max)) : v;
    return out.map((x) => shrink(x, r, max));
  }
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = shrink(x, r, max);
    return out;
  }
  return v;
}
