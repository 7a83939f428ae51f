/**
 * Serialises async critical sections per key inside this process. The local-fs store
 * puts it in front of its file lock so that concurrent operations on one key in the
 * same process queue up instead of polling the lock file. Module-wide on purpose: two
 * store instances on the same root share it.
 */
const tails = new Map<string, Promise<void>>();

export async function withKeyMutex<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = tails.get(key) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => {
    release = resolve;
  });
  const tail = previous.then(() => mine);
  tails.set(key, tail);
  await previous;
  try {
    return await fn();
  } finally {
    release();
    if (tails.get(key) === tail) tails.delete(key);
  }
}
