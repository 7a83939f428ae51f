import { FaultInjectingStore, MemoryStore } from '@sediment/object-store';
import { describe, expect, it } from 'vitest';
import { COMMIT_FORMAT, type CommitRecord, encodeJson } from './commit-format.js';
import { applyCommit, CommitLog, emptyLakeState } from './commit-log.js';
import { CorruptCommitLogError } from './errors.js';
import { commitKey, latestHintKey } from './layout.js';
import { silentLogger } from './logger.js';

function record(n: number, files: string[], last: number, roundId = `r${n}`): CommitRecord {
  return {
    format: COMMIT_FORMAT,
    version: 1,
    commit: n,
    createdAtMs: 1_000 * n,
    writerId: 'w',
    roundId,
    queueEpoch: '1',
    sequences: { first: String(last), last: String(last) },
    files: files.map((key) => ({
      key,
      table: 'spans',
      partition: 'dt=2024-01-01/hour=00',
      rows: 1,
      bytes: 10,
      minTimestampNs: '1',
      maxTimestampNs: '2',
    })),
    dedupKeys: { spans: [`k${n}`] },
    quarantined: [],
    stats: { entries: 1, rows: files.length, duplicateEntries: 0, duplicateRows: 0 },
  };
}

async function logWith(commits: number): Promise<{ store: MemoryStore; log: CommitLog }> {
  const store = new MemoryStore();
  const log = new CommitLog(store, 'lake', { logger: silentLogger });
  for (let n = 1; n <= commits; n++) {
    expect(await log.create(record(n, [`lake/spans/f${n}.parquet`], n * 10))).toBe('created');
  }
  return { store, log };
}

describe('CommitLog', () => {
  it('finds the latest commit without a hint (one listing) and with a lagging hint (probing)', async () => {
    const { log } = await logWith(7);
    expect(await log.findLatest()).toEqual({ commit: 7, checkpoint: null });
    await log.writeHint(3, null, 0);
    expect(await log.findLatest()).toEqual({ commit: 7, checkpoint: null });
    await log.writeHint(7, null, 0);
    expect(await log.findLatest()).toEqual({ commit: 7, checkpoint: null });
  });

  it('ignores a hint that points past the log or cannot be read', async () => {
    const { store, log } = await logWith(4);
    await log.writeHint(9, null, 0);
    expect((await log.findLatest()).commit).toBe(4);
    await store.put(latestHintKey('lake'), new TextEncoder().encode('{nope'));
    expect((await log.findLatest()).commit).toBe(4);
  });

  it('latest checkpoint + later commits = replay of every commit', async () => {
    const { log } = await logWith(5);
    const replay = emptyLakeState();
    await log.catchUp(replay);
    expect(replay.commit).toBe(5);
    expect(replay.lastSequence).toBe(50n);
    const atThree = emptyLakeState();
    for (let n = 1; n <= 3; n++) applyCommit(atThree, (await log.readCommit(n))!);
    await log.writeCheckpoint({
      format: 'sediment.lake.checkpoint',
      version: 1,
      commit: 3,
      createdAtMs: 0,
      lastSequence: '30',
      files: [...atThree.files.values()],
      dedupKeys: atThree.dedupKeys,
    });
    await log.writeHint(3, 3, 0);
    for (let n = 6; n <= 8; n++) await log.create(record(n, [`lake/spans/f${n}.parquet`], n * 10));
    const viaCheckpoint = await log.loadLatest();
    await log.catchUp(replay);
    expect(viaCheckpoint.commit).toBe(8);
    expect(viaCheckpoint.checkpoint).toBe(3);
    expect([...viaCheckpoint.files.keys()].sort()).toEqual([...replay.files.keys()].sort());
    expect(viaCheckpoint.lastSequence).toBe(80n);
    expect(viaCheckpoint.dedupKeys).toEqual(replay.dedupKeys);
  });

  it('recognizes its own commit after a lost reply, and a foreign one as taken', async () => {
    const inner = new MemoryStore();
    const faulty = new FaultInjectingStore(inner, {
      seed: 1,
      lostReplyRate: 1,
      operations: ['put'],
    });
    const log = new CommitLog(faulty, 'lake', {
      retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
    });
    // Every put "fails" after being applied; retries meet AlreadyExists; the roundId says it is ours.
    expect(await log.create(record(1, [], 1, 'mine'))).toBe('created');
    const other = new CommitLog(inner, 'lake');
    expect(await other.create(record(1, [], 1, 'theirs'))).toBe('exists');
    expect((await other.readCommit(1))!.roundId).toBe('mine');
  });

  it('refuses malformed commit objects', async () => {
    const store = new MemoryStore();
    const log = new CommitLog(store, 'lake');
    await store.put(commitKey('lake', 1), encodeJson({ ...record(1, [], 1), commit: 2 }));
    await expect(log.readCommit(1)).rejects.toBeInstanceOf(CorruptCommitLogError);
    await store.put(commitKey('lake', 1), new TextEncoder().encode('not json'));
    await expect(log.readCommit(1)).rejects.toBeInstanceOf(CorruptCommitLogError);
    await store.put(
      commitKey('lake', 1),
      encodeJson({ ...record(1, [], 1), sequences: { first: '5', last: '4' } }),
    );
    await expect(log.loadLatest()).rejects.toBeInstanceOf(CorruptCommitLogError);
  });
});
