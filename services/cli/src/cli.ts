import { USAGE } from './usage.js';

/** Exit codes scripts can rely on. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/**
 * Dispatches `sediment <command> [args]`; sets `process.exitCode`. Each command's code is
 * imported when it runs: an acceptor process never loads the writer, the Parquet encoder,
 * the S3 client or DuckDB (tens of MiB of resident memory), and a writer never loads DuckDB.
 */
export async function runCli(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return (await import('./start.js')).runStart(rest, env);
    case 'acceptor':
      return (await import('@sediment/acceptor')).runAcceptorProcess(rest, env);
    case 'writer':
      return (await import('@sediment/writer')).runWriterProcess(rest, env);
    case 'query':
      return (await import('./query.js')).runQuery(rest, env);
    case 'inspect':
      return (await import('./inspect.js')).runInspect(rest, env);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      if (command === undefined) process.exitCode = EXIT.usage;
      return;
    default:
      console.error(`sediment: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      process.exitCode = EXIT.usage;
  }
}
