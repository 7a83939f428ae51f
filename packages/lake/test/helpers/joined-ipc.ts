/**
 * Queue entries joined the way the compactor joins them for one Parquet file: the first
 * entry's schema message, then every entry's own dictionary and record batch messages.
 */
import { splitIpcStream } from '../../src/ipc.js';
import { joinIpcStream } from '../../src/parquet-encoder.js';

/** The joined stream's messages (schema first), as subarrays of the entries. */
export function joinedMessages(entries: readonly Uint8Array[]): Uint8Array[] {
  const first = splitIpcStream(entries[0]!);
  const out = [entries[0]!.subarray(first[0]!.start, first[0]!.end)];
  for (const e of entries)
    for (const m of splitIpcStream(e).slice(1)) out.push(e.subarray(m.start, m.end));
  return out;
}

/** The joined stream as one byte array. */
export function joinedStream(entries: readonly Uint8Array[]): Uint8Array {
  const messages = joinedMessages(entries);
  return joinIpcStream(messages[0]!, messages.slice(1));
}
