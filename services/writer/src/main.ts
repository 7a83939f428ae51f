#!/usr/bin/env node
// The writer process: Arrow Flight DoPut → durable ingest queue → Parquet lake.
import { runWriterProcess } from './run.js';

await runWriterProcess(process.argv.slice(2), process.env);
