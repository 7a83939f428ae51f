#!/usr/bin/env node
// `sediment <command>`: see usage.ts.
import { runCli } from './cli.js';

await runCli(process.argv.slice(2), process.env);
