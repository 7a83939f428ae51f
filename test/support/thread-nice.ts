import { readdirSync, readFileSync } from 'node:fs';

/** The nice value of each thread of this process, by thread id (Linux `/proc`). */
export function threadNices(): Map<number, number> {
  const nices = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // Fields after the command name, which ends with the last ')': state is field 3,
      // nice field 19 (proc(5)).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      nices.set(Number(tid), Number(fields[19 - 3]));
    } catch {
      // The thread ended while we listed them.
    }
  }
  return nices;
}

/** How many threads of `nices` run at `nice`. */
export function threadsAt(nices: Map<number, number>, nice: number): number {
  let n = 0;
  for (const v of nices.values()) if (v === nice) n++;
  return n;
}
