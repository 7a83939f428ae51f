/**
 * A small Dockerfile reader: enough of the format for the checks (instructions with
 * line continuations, comments, exec-form JSON arguments, stages, ENV pairs,
 * HEALTHCHECK options). Not a full parser: no variable substitution, no heredocs.
 */

export interface Instruction {
  /** Upper-case keyword: FROM, RUN, COPY, … */
  readonly keyword: string;
  /** The arguments as written, continuations joined with a space. */
  readonly args: string;
  /** 1-based line of the keyword. */
  readonly line: number;
}

export interface Stage {
  readonly image: string;
  readonly name: string | undefined;
  readonly instructions: readonly Instruction[];
  /** The stage's text from its FROM to the next FROM (comments included). */
  readonly text: string;
}

export interface Dockerfile {
  readonly stages: readonly Stage[];
  /** The last stage: what the image is. */
  readonly final: Stage;
}

export function parseDockerfile(text: string): Dockerfile {
  const lines = text.split('\n');
  const instructions: Instruction[] = [];
  const startLines: number[] = [];
  let current: { keyword: string; parts: string[]; line: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const trimmed = raw.trim();
    // Comment lines are dropped, also inside a continued instruction.
    if (trimmed.startsWith('#')) continue;
    if (current === undefined) {
      if (trimmed === '') continue;
      const m = /^([A-Za-z]+)\s*(.*)$/.exec(trimmed);
      if (!m) throw new Error(`line ${i + 1}: not an instruction: ${raw}`);
      current = { keyword: m[1]!.toUpperCase(), parts: [], line: i + 1 };
      startLines.push(i);
      pushPart(current, m[2]!);
    } else {
      if (trimmed === '') continue;
      pushPart(current, trimmed);
    }
    if (!trimmed.endsWith('\\')) {
      instructions.push({
        keyword: current.keyword,
        args: current.parts.join(' '),
        line: current.line,
      });
      current = undefined;
    }
  }
  if (current) throw new Error(`line ${current.line}: instruction continues past the end`);

  const stages: Stage[] = [];
  let members: Instruction[] | undefined;
  const fromLines: number[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`line ${ins.line}: FROM ${ins.args}`);
      members = [];
      fromLines.push(ins.line);
      stages.push({ image: m[1]!, name: m[2], instructions: members, text: '' });
    } else if (members) {
      members.push(ins);
    } else if (ins.keyword !== 'ARG') {
      throw new Error(`line ${ins.line}: ${ins.keyword} before the first FROM`);
    }
  }
  if (stages.length === 0) throw new Error('no FROM');
  // Stage text: from the comment block before FROM is not included; FROM to next FROM.
  const withText = stages.map((s, i) => ({
    ...s,
    text: lines
      .slice(fromLines[i]! - 1, i + 1 < fromLines.length ? fromLines[i + 1]! - 1 : lines.length)
      .join('\n'),
  }));
  return { stages: withText, final: withText[withText.length - 1]! };
}

function pushPart(current: { parts: string[] }, text: string): void {
  const part = text.endsWith('\\') ? text.slice(0, -1).trimEnd() : text;
  if (part !== '') current.parts.push(part);
}

/** The exec-form (JSON array) arguments of an instruction, or undefined in shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.trimStart().startsWith('[')) return undefined;
  const parsed = JSON.parse(args) as unknown;
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) {
    throw new Error(`not a JSON string array: ${args}`);
  }
  return parsed as string[];
}

/** `ENV A=1 B="two words"` → pairs (the legacy `ENV A 1` form too). */
export function envPairs(args: string): [string, string][] {
  const tokens = shellWords(args);
  if (tokens.length === 2 && !tokens[0]!.includes('=')) return [[tokens[0]!, tokens[1]!]];
  return tokens.map((t) => {
    const eq = t.indexOf('=');
    if (eq <= 0) throw new Error(`ENV ${args}: expected KEY=value`);
    return [t.slice(0, eq), t.slice(eq + 1)];
  });
}

/** `--interval=10s --retries=3 CMD ["node", …]` → options and the command. */
export function healthcheck(args: string): {
  options: Record<string, string>;
  cmd: string[] | 'NONE';
} {
  const options: Record<string, string> = {};
  let rest = args.trim();
  for (;;) {
    const m = /^--([a-z-]+)=(\S+)\s+/.exec(rest);
    if (!m) break;
    options[m[1]!] = m[2]!;
    rest = rest.slice(m[0].length);
  }
  if (/^NONE$/i.test(rest)) return { options, cmd: 'NONE' };
  const m = /^CMD\s+(.*)$/is.exec(rest);
  if (!m) throw new Error(`HEALTHCHECK ${args}: expected CMD`);
  const exec = execForm(m[1]!);
  return { options, cmd: exec ?? ['/bin/sh', '-c', m[1]!] };
}

/** Whitespace-separated words with "double" and 'single' quotes. */
export function shellWords(text: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s"']+)/g;
  let word = '';
  let lastEnd = -1;
  for (const m of text.matchAll(re)) {
    const piece = m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? m[3]!);
    if (m.index === lastEnd) word += piece;
    else {
      if (lastEnd >= 0) out.push(word);
      word = piece;
    }
    lastEnd = m.index! + m[0].length;
  }
  if (lastEnd >= 0) out.push(word);
  return out;
}

/** All instructions of a stage with this keyword. */
export function all(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((i) => i.keyword === keyword);
}

/** The last instruction of a stage with this keyword (the one that takes effect). */
export function last(stage: Stage, keyword: string): Instruction | undefined {
  return all(stage, keyword).at(-1);
}
