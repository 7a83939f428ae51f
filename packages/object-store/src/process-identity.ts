import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Who holds a local-fs lock: enough to decide later, from another process, whether the
 * holder still runs. A pid alone is not enough (pids are reused), so Linux adds the
 * process start time (clock ticks since boot), the boot id (a reboot kills every
 * holder) and the pid namespace (a pid means nothing in another container).
 */
export interface ProcessIdentity {
  readonly pid: number;
  readonly host: string;
  /** `/proc/<pid>/stat` field 22; undefined off Linux. */
  readonly startTime?: string | undefined;
  /** `/proc/sys/kernel/random/boot_id`; undefined off Linux. */
  readonly bootId?: string | undefined;
  /** `/proc/self/ns/pid` link text, e.g. `pid:[4026531836]`; undefined off Linux. */
  readonly pidNamespace?: string | undefined;
}

export type Liveness = 'alive' | 'dead' | 'unknown';

let self: ProcessIdentity | undefined;

/** This process's identity (computed once). */
export function selfIdentity(): ProcessIdentity {
  if (self === undefined || self.pid !== process.pid) {
    self = {
      pid: process.pid,
      host: hostname(),
      startTime: readProcStat(process.pid)?.startTime,
      bootId: readTrimmed('/proc/sys/kernel/random/boot_id'),
      pidNamespace: readLink('/proc/self/ns/pid'),
    };
  }
  return self;
}

/**
 * Whether the process described by `holder` still runs, seen from this process.
 * `dead` is definite (gone, zombie, pid reused, or the machine rebooted); `unknown`
 * means it cannot be checked from here (another host or pid namespace).
 */
export function liveness(holder: ProcessIdentity): Liveness {
  const me = selfIdentity();
  if (holder.host !== me.host) return 'unknown';
  if (holder.bootId !== undefined && me.bootId !== undefined && holder.bootId !== me.bootId) {
    return 'dead';
  }
  if (holder.pidNamespace !== me.pidNamespace) return 'unknown';
  if (!Number.isSafeInteger(holder.pid) || holder.pid <= 0) return 'unknown';
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return 'dead';
    if (code !== 'EPERM') return 'unknown';
    // EPERM: the pid exists but belongs to another user; check it below.
  }
  const stat = readProcStat(holder.pid);
  // The pid exists (kill said so) but /proc does not show it: no /proc (not Linux), a
  // /proc mounted with hidepid, or it exited a moment ago. Only the last is "dead", and
  // the next poll sees ESRCH then; assuming alive is the safe side.
  if (stat === undefined) return 'alive';
  if (stat.state === 'Z' || stat.state === 'X') return 'dead';
  if (holder.startTime !== undefined && stat.startTime !== holder.startTime) return 'dead';
  return 'alive';
}

function readProcStat(pid: number): { state: string; startTime: string } | undefined {
  const text = readTrimmed(`/proc/${pid}/stat`);
  if (text === undefined) return undefined;
  // The command name (field 2) is in parentheses and may itself contain ") ".
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTime = fields[19];
  if (state === undefined || startTime === undefined) return undefined;
  return { state, startTime };
}

function readTrimmed(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function readLink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}
