import { describe, expect, test } from 'vitest';
import { InflightBytes } from './inflight.js';

describe('InflightBytes reservations', () => {
  test('grow within the bound, refuse past it while others hold bytes, shrink and release', () => {
    const pool = new InflightBytes(100);
    const a = pool.reserve();
    const b = pool.reserve();
    expect(a.tryGrow(60)).toBe(true);
    expect(b.tryGrow(30)).toBe(true);
    expect(pool.current).toBe(90);
    expect(b.tryGrow(20)).toBe(false); // 110 > 100 with a holding 60
    expect(b.bytes).toBe(30);
    expect(a.tryResize(10)).toBe(true); // shrinking always works
    expect(b.tryGrow(20)).toBe(true);
    expect(pool.current).toBe(60);
    a.release();
    a.release(); // idempotent
    expect(pool.current).toBe(50);
    expect(a.tryGrow(1)).toBe(false); // released for good
    b.release();
    expect(pool.current).toBe(0);
  });

  test('detach moves the bytes to a new reservation; releasing the old one then frees nothing', () => {
    const pool = new InflightBytes(100);
    const request = pool.reserve();
    expect(request.tryGrow(70)).toBe(true);
    const orphan = request.detach();
    expect([request.bytes, orphan.bytes, pool.current]).toEqual([0, 70, 70]);
    request.release();
    expect(pool.current).toBe(70); // still counted: the work that holds them is running
    expect(pool.reserve().tryGrow(40)).toBe(false);
    orphan.release();
    expect(pool.current).toBe(0);
  });

  test('a request that holds the only reservation may grow past the bound (it cannot starve)', () => {
    const pool = new InflightBytes(100);
    const alone = pool.reserve();
    expect(alone.tryGrow(80)).toBe(true);
    expect(alone.tryGrow(80)).toBe(true);
    expect(pool.current).toBe(160);
    const other = pool.reserve();
    expect(other.tryGrow(1)).toBe(false);
    alone.release();
    expect(other.tryGrow(1)).toBe(true);
  });

  test('tryAcquire keeps its one-shot form', () => {
    const pool = new InflightBytes(10);
    const release = pool.tryAcquire(8)!;
    expect(pool.tryAcquire(5)).toBeUndefined();
    release();
    expect(pool.current).toBe(0);
  });
});
