/**
 * `flags` without those whose name (`--name` before any `=`, `_` and `-` alike) appears
 * in `given`: a service's own node flags, minus those the operator gave explicitly.
 */
export function flagsNotGiven(flags: readonly string[], given: readonly string[]): string[] {
  const name = (flag: string) => flag.split('=', 1)[0]!.replace(/_/g, '-');
  const taken = new Set(given.map(name));
  return flags.filter((f) => !taken.has(name(f)));
}
