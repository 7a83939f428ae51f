#!/usr/bin/env node
// The `sediment` command. Runs the compiled CLI when it has been built (containers,
// `pnpm build`), otherwise the TypeScript sources through tsx (a fresh clone).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/main.js', import.meta.url));
if (existsSync(dist) && !process.env.SEDIMENT_FROM_SOURCE) {
  await import(dist);
} else {
  const require = createRequire(import.meta.url);
  const src = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  const args = ['--conditions=sediment-src', '--import', require.resolve('tsx/esm'), src];
  const child = spawn(process.execPath, [...args, ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal ? 128 : 1);
  });
}
