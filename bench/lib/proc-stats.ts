/**
 * Process resource sampling from Linux /proc: resident set size (VmRSS) and CPU time
 * (utime + stime, all threads, e.g. the writer's Parquet worker). Used to report the max
 * RSS and the cores each process used during a benchmark window.
 */
import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS = 100; // USER_HZ on Linux (sysconf(_SC_CLK_TCK)), fixed at 100 on x86/arm.

/** VmRSS in bytes, or undefined when the process is gone. */
export function readRss(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface CpuTimes {
  /** User + system seconds of every thread. */
  readonly total: number;
  /** System (kernel) seconds of every thread. */
  readonly system: number;
  /** User + system seconds of the main thread (the JavaScript event loop). */
  readonly main: number;
  /** User + system seconds of each thread by thread id. */
  readonly threads: ReadonlyMap<number, number>;
}

function statTimes(path: string): [user: number, system: number] {
  const stat = readFileSync(path, 'utf8');
  // The command name (field 2) may contain spaces; fields after it are positional.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [Number(fields[11]) / CLOCK_TICKS, Number(fields[12]) / CLOCK_TICKS];
}

/**
 * CPU seconds the process has used, all threads and the main thread alone (the rest is
 * V8's GC helper threads, the libuv pool and worker threads), or undefined when gone.
 */
export function readCpuTimes(pid: number): CpuTimes | undefined {
  try {
    const [user, system] = statTimes(`/proc/${pid}/stat`);
    const [mainUser, mainSystem] = statTimes(`/proc/${pid}/task/${pid}/stat`);
    const threads = new Map<number, number>();
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const [u, sys] = statTimes(`/proc/${pid}/task/${tid}/stat`);
        threads.set(Number(tid), u + sys);
      } catch {
        // the thread ended meanwhile
      }
    }
    return { total: user + system, system, main: mainUser + mainSystem, threads };
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system, all threads) the process has used, or undefined when gone. */
export function readCpuSeconds(pid: number): number | undefined {
  return readCpuTimes(pid)?.total;
}

/** Direct children of `pid` (from /proc/<pid>/task/<pid>/children). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter((s) => s.length > 0)
      .map(Number);
  } catch {
    return [];
  }
}

/** The process's argv, or [] when it is gone. */
export function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((s) => s.length > 0);
  } catch {
    return [];
  }
}

/** Every descendant of `pid`, breadth first. */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const c of childPids(queue.shift()!)) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** 1, 5 and 15 minute load averages. */
export function loadAverage(): [number, number, number] {
  const [a, b, c] = readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number);
  return [a ?? Number.NaN, b ?? Number.NaN, c ?? Number.NaN];
}

export interface ProcessUsage {
  readonly name: string;
  readonly pid: number;
  /** Highest VmRSS seen (bytes). */
  readonly maxRss: number;
  /** CPU seconds used between `markStart()` and `markEnd()` (all threads). */
  readonly cpuSeconds: number;
  /** `cpuSeconds` / wall seconds of the window: cores used on average. */
  readonly cores: number;
  /** Cores used by the main thread (the event loop) alone. */
  readonly mainCores: number;
  /** Cores used in the kernel (all threads). */
  readonly systemCores: number;
  /**
   * Cores used by the busiest thread other than the main one (in the writer, the Parquet
   * encoder worker while the collector compacts; otherwise a V8 GC helper). Threads are
   * all named "node", so this is the best attribution /proc allows.
   */
  readonly topThreadCores: number;
  /**
   * CPU seconds (all threads) from `markLoadStart()` to the last sample taken while the
   * process was alive, e.g. a whole run including the drain after the window.
   */
  readonly runCpuSeconds: number;
}

interface Watched {
  pid: number;
  maxRss: number;
  cpuStart?: CpuTimes | undefined;
  cpuEnd?: CpuTimes | undefined;
  cpuLoadStart?: number | undefined;
  cpuLast?: number | undefined;
}

/**
 * Samples VmRSS of named processes every `intervalMs` (max kept) and their CPU time at the
 * start and end of a measurement window.
 */
export class ProcessSampler {
  readonly #procs = new Map<string, Watched>();
  #timer: NodeJS.Timeout | undefined;
  #windowStart = 0;
  #windowEnd = 0;

  constructor(readonly intervalMs = 250) {}

  /** Starts (or keeps) sampling `pid` under `name`. */
  watch(name: string, pid: number): void {
    if (!this.#procs.has(name)) this.#procs.set(name, { pid, maxRss: readRss(pid) ?? 0 });
  }

  start(): void {
    this.#timer ??= setInterval(() => this.sample(), this.intervalMs);
    this.#timer.unref();
  }

  sample(): void {
    for (const p of this.#procs.values()) {
      const rss = readRss(p.pid);
      if (rss !== undefined && rss > p.maxRss) p.maxRss = rss;
      const cpu = readCpuSeconds(p.pid);
      if (cpu !== undefined) p.cpuLast = cpu;
    }
  }

  /** Start of the whole run's CPU account (see {@link ProcessUsage.runCpuSeconds}). */
  markLoadStart(): void {
    for (const p of this.#procs.values()) {
      p.cpuLoadStart = readCpuSeconds(p.pid);
      p.cpuLast = p.cpuLoadStart;
    }
  }

  /** Start of the CPU window (processes watched later start their window when watched). */
  markStart(): void {
    this.#windowStart = performance.now();
    for (const p of this.#procs.values()) p.cpuStart = readCpuTimes(p.pid);
  }

  markEnd(): void {
    this.sample();
    this.#windowEnd = performance.now();
    for (const p of this.#procs.values()) p.cpuEnd = readCpuTimes(p.pid);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  usage(): ProcessUsage[] {
    const wall = (this.#windowEnd - this.#windowStart) / 1000;
    return [...this.#procs].map(([name, p]) => {
      let top = 0;
      if (p.cpuStart !== undefined && p.cpuEnd !== undefined) {
        for (const [tid, end] of p.cpuEnd.threads) {
          if (tid === p.pid) continue;
          top = Math.max(top, end - (p.cpuStart.threads.get(tid) ?? 0));
        }
      }
      const d = (k: 'total' | 'system' | 'main') =>
        p.cpuStart !== undefined && p.cpuEnd !== undefined
          ? p.cpuEnd[k] - p.cpuStart[k]
          : Number.NaN;
      const per = (x: number) => (wall > 0 ? x / wall : Number.NaN);
      return {
        name,
        pid: p.pid,
        maxRss: p.maxRss,
        cpuSeconds: d('total'),
        cores: per(d('total')),
        mainCores: per(d('main')),
        systemCores: per(d('system')),
        topThreadCores: per(top),
        runCpuSeconds:
          p.cpuLoadStart !== undefined && p.cpuLast !== undefined
            ? p.cpuLast - p.cpuLoadStart
            : Number.NaN,
      };
    });
  }
}
