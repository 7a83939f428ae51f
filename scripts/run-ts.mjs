#!/usr/bin/env node
// Runs a TypeScript entry point from source: workspace packages resolve to their src/
// through the `sediment-src` export condition and tsx compiles on the fly. Used by
// benchmarks and by tests that need a real child process.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
export const TS_NODE_ARGS = ['--conditions=sediment-src', '--import', require.resolve('tsx/esm')];

const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/run-ts.mjs <file.ts> [args...]');
  process.exitCode = 2;
} else {
  const child = spawn(process.execPath, [...TS_NODE_ARGS, entry, ...rest], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal ? 128 : 1);
  });
}
