import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { configReference } from './config-reference.js';

test('the README configuration reference matches the settings the code parses', () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('<!-- config:start -->');
  const end = readme.indexOf('<!-- config:end -->');
  expect(start, 'README lacks the config markers').toBeGreaterThan(-1);
  const embedded = readme.slice(start + '<!-- config:start -->'.length, end).trim();
  // Regenerate with: npx -y pnpm@10 run docs
  expect(embedded).toBe(configReference());
});
