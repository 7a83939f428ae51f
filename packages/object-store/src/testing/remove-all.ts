import type { ObjectStore } from '../types.js';

/** Deletes every object under `prefix` (test clean-up); returns how many. */
export async function removeAll(store: ObjectStore, prefix = ''): Promise<number> {
  const keys: string[] = [];
  for await (const meta of store.list(prefix)) keys.push(meta.key);
  for (let i = 0; i < keys.length; i += 16) {
    await Promise.all(keys.slice(i, i + 16).map((key) => store.delete(key)));
  }
  return keys.length;
}
