/**
 * The commit log: `_commits/{n}.json` created once each (n = 1, 2, 3… without gaps),
 * periodic `_commits/{n}.checkpoint.json`, and the advisory `_commits/_latest.json`.
 *
 * Reader protocol (docs/005-lake.md): read the hint (or, without one, list `_commits/`
 * once), probe `head(n+1)`, `head(n+2)`… until NotFound to find the latest commit L,
 * load the newest checkpoint C ≤ L the hint names, then apply commits C+1..L. The
 * committed file set is exactly that. Never glob the data directories: a glob also sees
 * orphans (files of crashed or fenced rounds) until GC removes them.
 */
import { AlreadyExistsError, NotFoundError, type ObjectStore } from '@sediment/object-store';
import {
  type Checkpoint,
  type CommitRecord,
  type CommittedFile,
  decodeCheckpoint,
  decodeCommit,
  decodeHint,
  encodeJson,
  HINT_FORMAT,
  type LatestHint,
} from './commit-format.js';
import {
  checkpointKey,
  commitKey,
  commitsDir,
  latestHintKey,
  parseCommitLogKey,
} from './layout.js';
import type { Logger } from './logger.js';
import { DEFAULT_RETRY, type RetryPolicy, withRetry } from './retry.js';

/** The lake as of one commit. */
export interface LakeState {
  /** Latest commit number; 0 when there is none. */
  commit: number;
  /** Highest queue sequence covered by a commit. */
  lastSequence: bigint | undefined;
  /** Committed files by key. */
  readonly files: Map<string, CommittedFile>;
  /** Newest checkpoint number used or written. */
  checkpoint: number | null;
  /** Idempotency keys seen: [table, base64 key, commit time ms], oldest first. */
  readonly dedupKeys: [string, string, number][];
}

export function emptyLakeState(): LakeState {
  return { commit: 0, lastSequence: undefined, files: new Map(), checkpoint: null, dedupKeys: [] };
}

/** Applies one commit (its number must be `state.commit + 1`). */
export function applyCommit(state: LakeState, record: CommitRecord): void {
  for (const f of record.files) state.files.set(f.key, f);
  for (const [table, keys] of Object.entries(record.dedupKeys)) {
    for (const k of keys) state.dedupKeys.push([table, k, record.createdAtMs]);
  }
  state.commit = record.commit;
  state.lastSequence = BigInt(record.sequences.last);
}

export class CommitLog {
  readonly store: ObjectStore;
  readonly prefix: string;
  readonly #retry: RetryPolicy;
  readonly #logger: Logger | undefined;

  constructor(
    store: ObjectStore,
    prefix: string,
    options: { retry?: RetryPolicy; logger?: Logger } = {},
  ) {
    this.store = store;
    this.prefix = prefix;
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.#logger = options.logger;
  }

  async #getOptional(key: string): Promise<Uint8Array | undefined> {
    try {
      return (await withRetry(`get ${key}`, this.#retry, () => this.store.get(key))).bytes;
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  async readCommit(n: number): Promise<CommitRecord | undefined> {
    const key = commitKey(this.prefix, n);
    const bytes = await this.#getOptional(key);
    return bytes && decodeCommit(key, bytes, n);
  }

  async readCheckpoint(n: number): Promise<Checkpoint | undefined> {
    const key = checkpointKey(this.prefix, n);
    const bytes = await this.#getOptional(key);
    return bytes && decodeCheckpoint(key, bytes, n);
  }

  /** The hint, or undefined when missing or unreadable (it is advisory). */
  async readHint(): Promise<LatestHint | undefined> {
    const key = latestHintKey(this.prefix);
    const bytes = await this.#getOptional(key);
    if (!bytes) return undefined;
    try {
      return decodeHint(key, bytes);
    } catch (err) {
      this.#logger?.warn({ err, key }, 'ignoring unreadable commit-log hint');
      return undefined;
    }
  }

  async commitExists(n: number): Promise<boolean> {
    const key = commitKey(this.prefix, n);
    try {
      await withRetry(`head ${key}`, this.#retry, () => this.store.head(key));
      return true;
    } catch (err) {
      if (err instanceof NotFoundError) return false;
      throw err;
    }
  }

  /**
   * Latest commit number (0 = none) and the newest checkpoint known from the hint or
   * the listing. Cost: one GET plus one HEAD per commit the hint lags behind (plus one
   * listing of `_commits/` when there is no hint).
   */
  async findLatest(): Promise<{ commit: number; checkpoint: number | null }> {
    const hint = await this.readHint();
    let commit = 0;
    let checkpoint: number | null = null;
    if (hint) {
      commit = hint.commit;
      checkpoint = hint.checkpoint;
      // A hint can only lag (it is written after its commit), unless someone rewrote it.
      if (commit > 0 && !(await this.commitExists(commit))) {
        this.#logger?.warn({ hint }, 'commit-log hint points past the log; listing instead');
        ({ commit, checkpoint } = await this.#listLatest());
      }
    } else {
      ({ commit, checkpoint } = await this.#listLatest());
    }
    while (await this.commitExists(commit + 1)) commit++;
    return { commit, checkpoint };
  }

  async #listLatest(): Promise<{ commit: number; checkpoint: number | null }> {
    let commit = 0;
    let checkpoint: number | null = null;
    for await (const meta of this.store.list(commitsDir(this.prefix))) {
      const parsed = parseCommitLogKey(this.prefix, meta.key);
      if (!parsed) continue;
      if (parsed.kind === 'commit') commit = Math.max(commit, parsed.n);
      else checkpoint = Math.max(checkpoint ?? 0, parsed.n);
    }
    return { commit, checkpoint };
  }

  /** Loads the state as of the latest commit (reader protocol). */
  async loadLatest(): Promise<LakeState> {
    const { commit, checkpoint } = await this.findLatest();
    const state = emptyLakeState();
    if (checkpoint !== null && checkpoint > 0 && checkpoint <= commit) {
      const cp = await this.readCheckpoint(checkpoint);
      if (cp) {
        for (const f of cp.files) state.files.set(f.key, f);
        for (const [t, k, ms] of cp.dedupKeys) state.dedupKeys.push([t, k, ms]);
        state.commit = cp.commit;
        state.lastSequence = cp.lastSequence === null ? undefined : BigInt(cp.lastSequence);
        state.checkpoint = cp.commit;
      } else {
        this.#logger?.warn(
          { checkpoint },
          'checkpoint named by the hint is missing; replaying all commits',
        );
      }
    }
    await this.catchUp(state, commit);
    return state;
  }

  /**
   * Applies commits after `state.commit`, up to `until` when given, else until the first
   * missing one. Returns the records applied.
   */
  async catchUp(state: LakeState, until?: number): Promise<CommitRecord[]> {
    const applied: CommitRecord[] = [];
    for (;;) {
      const n = state.commit + 1;
      if (until !== undefined && n > until) break;
      const record = await this.readCommit(n);
      if (!record) {
        if (until !== undefined) {
          throw new Error(
            `commit ${n} disappeared while reading the log (deleted outside the protocol?)`,
          );
        }
        break;
      }
      applyCommit(state, record);
      applied.push(record);
    }
    return applied;
  }

  /**
   * Creates commit `record.commit`. Returns 'created', or 'exists' when another writer
   * got there first. On AlreadyExists the commit is read back: if its `roundId` is ours,
   * an earlier attempt was applied although its reply was lost, and that is 'created'.
   * @throws StoreUnavailableError, CorruptCommitLogError, object-store errors.
   */
  async create(record: CommitRecord): Promise<'created' | 'exists'> {
    const key = commitKey(this.prefix, record.commit);
    const bytes = encodeJson(record);
    try {
      await withRetry(`create ${key}`, this.#retry, () =>
        this.store.put(key, bytes, { mode: 'create' }),
      );
      return 'created';
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
      // Ours after all when an earlier attempt (this call's or a previous round
      // attempt's) was applied but its reply was lost.
      const existing = await this.readCommit(record.commit);
      return existing?.roundId === record.roundId ? 'created' : 'exists';
    }
  }

  async writeCheckpoint(cp: Checkpoint): Promise<void> {
    const key = checkpointKey(this.prefix, cp.commit);
    await withRetry(`put ${key}`, this.#retry, () => this.store.put(key, encodeJson(cp)));
  }

  async writeHint(commit: number, checkpoint: number | null, nowMs: number): Promise<void> {
    const key = latestHintKey(this.prefix);
    const hint: LatestHint = {
      format: HINT_FORMAT,
      version: 1,
      commit,
      checkpoint,
      updatedAtMs: nowMs,
    };
    await withRetry(`put ${key}`, this.#retry, () => this.store.put(key, encodeJson(hint)));
  }
}
