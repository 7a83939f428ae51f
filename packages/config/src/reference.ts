import type { SettingsRecord } from './parse.js';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/**
 * The configuration reference as one Markdown table, generated from the same definitions
 * the parser uses. The README embeds it between `<!-- config:start -->` and
 * `<!-- config:end -->`; a test fails when the two drift apart.
 */
export function renderReference(settings: SettingsRecord): string {
  const rows = Object.values(settings).map(
    (s) =>
      `| \`${s.env}\` | \`${s.flag}\` | ${cell(s.kind)} | ${cell(s.defaultText === '(unset)' ? '(unset)' : `\`${s.defaultText}\``)} | ${s.services.join(', ')} | ${cell(s.description)} |`,
  );
  return [
    '| Environment variable | Flag | Type | Default | Used by | Meaning |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/** Plain-text option list for `--help`. */
export function renderHelp(settings: SettingsRecord): string {
  const lines: string[] = [];
  for (const s of Object.values(settings)) {
    lines.push(`  ${s.flag} <${s.kind}>   (env ${s.env}, default ${s.defaultText})`);
    lines.push(`      ${s.description}`);
  }
  return lines.join('\n');
}

/** Replaces the text between the config markers of a document; throws when they are missing. */
export function embedReference(document: string, reference: string): string {
  const start = '<!-- config:start -->';
  const end = '<!-- config:end -->';
  const i = document.indexOf(start);
  const j = document.indexOf(end);
  if (i === -1 || j === -1 || j < i) throw new Error(`document lacks ${start} … ${end} markers`);
  return `${document.slice(0, i + start.length)}\n${reference}\n${document.slice(j)}`;
}
