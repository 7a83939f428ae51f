import { runAcceptorProcess } from '@sediment/acceptor';
import { runWriterProcess } from '@sediment/writer';
import { runInspect } from './inspect.js';
import { runQuery } from './query.js';
import { runStart } from './start.js';
import { USAGE } from './usage.js';

/** Exit codes scripts can rely on. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** Dispatches `sediment <command> [args]`; sets `process.exitCode`. */
export async function runCli(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return runStart(rest, env);
    case 'acceptor':
      return runAcceptorProcess(rest, env);
    case 'writer':
      return runWriterProcess(rest, env);
    case 'query':
      return runQuery(rest, env);
    case 'inspect':
      return runInspect(rest, env);
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
