import { InvalidKeyError } from './errors.js';

const MAX_KEY_BYTES = 1024;

/**
 * A key is a relative `/`-separated path: non-empty segments, none of them `.` or `..`,
 * no leading or trailing `/`, no backslash or control characters, at most 1024 UTF-8
 * bytes (the S3 limit). These rules are what keep a key derived from input (a table
 * name, a partition value) from escaping the store's root on any backend.
 * @throws InvalidKeyError
 */
export function validateKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidKeyError(String(key), 'empty');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new InvalidKeyError(key, `longer than ${MAX_KEY_BYTES} bytes`);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f\\]/.test(key)) {
    throw new InvalidKeyError(key, 'contains a control character or backslash');
  }
  for (const segment of key.split('/')) {
    if (segment === '')
      throw new InvalidKeyError(key, 'empty path segment (leading, trailing or double "/")');
    if (segment === '.' || segment === '..') throw new InvalidKeyError(key, `"${segment}" segment`);
  }
  return key;
}

/** A list prefix may be empty or end with `/`; otherwise it follows the key rules. */
export function validatePrefix(prefix: string): string {
  if (prefix === '') return prefix;
  const trimmed = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  validateKey(trimmed);
  return prefix;
}

/** Compares keys in UTF-8 byte order, the order S3 lists in. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
