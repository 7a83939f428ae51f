#!/usr/bin/env node
// The `sediment` command. In a development checkout (tsx installed, sources present) it
// runs the TypeScript sources, so it never runs a stale build; in a production install
// (no dev dependencies) it runs the compiled dist/main.js.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const src = fileURLToPath(new URL('../src/main.ts', import.meta.url));
let tsx;
try {
  tsx = require.resolve('tsx/esm');
} catch {
  tsx = undefined;
}

if (tsx && existsSync(src)) {
  const args = ['--conditions=sediment-src', '--import', tsx, src];
  const child = spawn(process.execPath, [...args, ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal ? 128 : 1);
  });
} else {
  await import(new URL('../dist/main.js', import.meta.url).href);
}
