/** `--name <value>` from the command line, else `fallback`. */
export function stringArg(name: string, fallback: string): string {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? fallback) : fallback;
}

/** `--name <number>` from the command line, else `fallback`. */
export function numberArg(name: string, fallback: number): number {
  return Number(stringArg(name, String(fallback)));
}
