import { expect, test } from 'vitest';
import { TokenAuthenticator } from './auth.js';
import { InflightBytes } from './inflight.js';

test('bearer tokens: configured ones pass, anything else fails; empty list disables', () => {
  const auth = new TokenAuthenticator(['alpha-token', 'beta-token']);
  expect(auth.enabled).toBe(true);
  expect(auth.check('Bearer alpha-token')).toBe(true);
  expect(auth.check('bearer beta-token')).toBe(true);
  expect(auth.check('  Bearer   beta-token ')).toBe(true);
  for (const bad of [
    undefined,
    '',
    'Bearer',
    'Bearer gamma',
    'Basic alpha-token',
    'alpha-token',
    'Bearer alpha-token x',
    'Bearer alpha-tokenx',
  ]) {
    expect(auth.check(bad)).toBe(false);
  }
  const open = new TokenAuthenticator([]);
  expect(open.enabled).toBe(false);
  expect(open.check(undefined)).toBe(true);
});

test('in-flight bytes: bounded, released once, a lone oversized request admitted', () => {
  const inflight = new InflightBytes(100);
  const a = inflight.tryAcquire(60)!;
  expect(inflight.tryAcquire(50)).toBeUndefined();
  const b = inflight.tryAcquire(40)!;
  expect(inflight.current).toBe(100);
  a();
  a();
  expect(inflight.current).toBe(40);
  b();
  const big = inflight.tryAcquire(500);
  expect(big).toBeDefined();
  expect(inflight.tryAcquire(1)).toBeUndefined();
  big!();
  expect(inflight.current).toBe(0);
});
