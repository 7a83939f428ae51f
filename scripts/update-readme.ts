// Regenerates the generated parts of README.md (the configuration reference).
//   npx -y pnpm@10 run docs
import { readFileSync, writeFileSync } from 'node:fs';
import { configReference } from '@sediment/cli';
import { embedReference } from '@sediment/config';

const path = new URL('../README.md', import.meta.url);
const before = readFileSync(path, 'utf8');
const after = embedReference(before, configReference());
if (after !== before) writeFileSync(path, after);
console.log(after === before ? 'README.md is up to date' : 'README.md updated');
