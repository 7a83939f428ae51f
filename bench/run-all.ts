/**
 * Runs every benchmark scenario in turn, each in its own process (so one's heap and JIT
 * state cannot colour the next), and prints their reports. Each benchmark measures its
 * own baseline in the same run and prints the ratio; see BENCHMARKS.md.
 *
 *   npx -y pnpm@10 bench              # all
 *   npx -y pnpm@10 bench otlp compact # only those whose file name contains a word
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BENCHES = [
  'bench/object-store.ts',
  'bench/ingest-codec.ts',
  'bench/ingest-throughput.ts',
  'bench/otlp-decode.ts',
  'bench/flight-doput.ts',
  'bench/writer-check.ts',
  'bench/ipc-encode.ts',
  'bench/compact.ts',
  'bench/compact-steady.ts',
  'bench/e2e/run.ts',
];

const filters = process.argv.slice(2);
const selected = BENCHES.filter((b) => filters.length === 0 || filters.some((f) => b.includes(f)));
let failed = 0;
for (const bench of selected) {
  console.log(
    `\n===== ${bench}  (load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')})\n`,
  );
  const r = spawnSync(process.execPath, ['scripts/run-ts.mjs', bench], {
    cwd: root,
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    failed++;
    console.error(`${bench} exited with ${r.status ?? r.signal}`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
