import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { ProducerConfig, ProducerEvent } from './producer-protocol.js';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const producerFile = fileURLToPath(new URL('../fixtures/producer.ts', import.meta.url));
const tsNodeArgs = [
  '--conditions=sediment-src',
  '--import',
  createRequire(import.meta.url).resolve('tsx/esm'),
];

export interface ProducerProcess {
  readonly child: ChildProcess;
  /** Every complete JSON line so far, in order. */
  readonly events: ProducerEvent[];
  /** Resolves at the first event matching `predicate` (rejects if the process exits first). */
  waitFor(predicate: (e: ProducerEvent) => boolean): Promise<ProducerEvent>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  /** Releases the start barrier (`waitForGo`). */
  go(): void;
}

/** Starts test/fixtures/producer.ts in its own OS process. */
export function spawnProducer(config: ProducerConfig): ProducerProcess {
  const child = spawn(process.execPath, [...tsNodeArgs, producerFile, JSON.stringify(config)], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: process.env,
  });
  const events: ProducerEvent[] = [];
  const watchers: {
    predicate: (e: ProducerEvent) => boolean;
    resolve: (e: ProducerEvent) => void;
    reject: (err: Error) => void;
  }[] = [];
  let buffered = '';
  let stderr = '';
  let closed = false;
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    buffered += chunk;
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf('\n');
      if (line.trim() === '') continue;
      const event = JSON.parse(line) as ProducerEvent;
      events.push(event);
      for (let k = watchers.length - 1; k >= 0; k--) {
        if (watchers[k]!.predicate(event)) watchers.splice(k, 1)[0]!.resolve(event);
      }
    }
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stderr: string;
  }>((resolve) => {
    // 'close' fires after stdout is drained, so `events` is complete by then.
    child.on('close', (code, signal) => {
      closed = true;
      for (const w of watchers.splice(0)) {
        w.reject(new Error(`producer exited (code ${code}, signal ${signal}) first: ${stderr}`));
      }
      resolve({ code, signal, stderr });
    });
  });
  return {
    child,
    events,
    exited,
    go() {
      child.stdin!.write('go\n');
    },
    waitFor(predicate) {
      const found = events.find(predicate);
      if (found) return Promise.resolve(found);
      if (closed) return Promise.reject(new Error(`producer already exited: ${stderr}`));
      return new Promise((resolve, reject) => watchers.push({ predicate, resolve, reject }));
    },
  };
}
