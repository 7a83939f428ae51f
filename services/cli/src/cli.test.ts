import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));

/**
 * Runs `sediment <args>` in a fresh process (from sources) and tells whether DuckDB's
 * native library was loaded by the end (Linux: /proc/self/maps).
 */
async function loadsDuckDB(args: string[]): Promise<boolean> {
  const script = `
    const { runCli } = await import(${JSON.stringify(CLI)});
    const log = console.log;
    console.log = () => {};
    await runCli(${JSON.stringify(args)}, {});
    const maps = (await import('node:fs')).readFileSync('/proc/self/maps', 'utf8');
    log(JSON.stringify(maps.includes('libduckdb')));
  `;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      '--conditions=sediment-src',
      '--import',
      require.resolve('tsx/esm'),
      '--input-type=module',
      '-e',
      script,
    ],
    { timeout: 60_000 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as boolean;
}

describe('sediment CLI', () => {
  it('imports each command’s code when it runs: acceptor and writer processes never load DuckDB', async () => {
    // 10+ MiB of resident native code the long-running services do not need.
    expect(await loadsDuckDB(['acceptor', '--help'])).toBe(false);
    expect(await loadsDuckDB(['writer', '--help'])).toBe(false);
    expect(await loadsDuckDB(['query', '--help'])).toBe(true); // the check sees it when loaded
  }, 120_000);
});
