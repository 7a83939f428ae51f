#!/usr/bin/env node
// The acceptor process: OTLP gRPC :4317 and HTTP :4318 → Arrow Flight to the writers.
import { runAcceptorProcess } from './run.js';

await runAcceptorProcess(process.argv.slice(2), process.env);
