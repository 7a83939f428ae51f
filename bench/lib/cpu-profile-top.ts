/**
 * Summarizes V8 .cpuprofile files (from `node --cpu-prof`, e.g. `bench/e2e/run.ts
 * --cpu-prof DIR`): self time by function and by package/file, so a benchmark's CPU can
 * be attributed without opening DevTools.
 *
 *   node scripts/run-ts.mjs bench/lib/cpu-profile-top.ts FILE.cpuprofile [--top 30]
 *     [--by area|file|function] [--from SECONDS] [--to SECONDS]
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileEntry {
  readonly name: string;
  readonly selfMs: number;
  readonly share: number;
}

/** `node_modules/.pnpm/x@1/node_modules/x/…` → `x`; our sources → repo-relative path. */
function where(url: string, functionName: string): string {
  // V8's pseudo-frames: (idle), (program), (garbage collector), (root).
  if (url === '') return functionName.startsWith('(') ? functionName : '(native code)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const m = /\/(packages|services|bench|test)\/(.*)$/.exec(url);
  if (m) return `${m[1]}/${m[2]}`;
  return url.replace(/^file:\/\//, '');
}

/**
 * Self time per function or file. `fromS`/`toS` (seconds since the profile started) keep
 * only the samples in that window, e.g. a benchmark's measured window without start-up.
 */
/** Coarse areas of a Sediment process, for a one-screen answer to "where does CPU go". */
const AREAS: [RegExp, string][] = [
  [/^\(garbage collector\)$/, 'garbage collection'],
  [/^\((idle|program|root)\)$/, '$1'],
  [/^(@grpc\/grpc-js|node:internal\/http2|node:http2)/, 'gRPC + HTTP/2 (grpc-js, node:http2)'],
  [
    /^(fastify|find-my-way|light-my-request|avvio|node:_http|node:http)/,
    'HTTP/1.1 (node:http, fastify)',
  ],
  [
    /^(node:net|node:internal\/stream_base|node:internal\/streams|node:stream)/,
    'sockets + streams',
  ],
  [/^(packages\/flight)/, 'Flight codec (packages/flight)'],
  [/^(packages\/otlp)/, 'OTLP decode + IPC (packages/otlp)'],
  [/^(apache-arrow|flatbuffers|tslib)/, 'apache-arrow (IPC read/write)'],
  [/^(packages\/ingest)/, 'ingest queue (packages/ingest)'],
  [/^(packages\/object-store|node:fs|node:internal\/fs)/, 'object store + fs'],
  [/^(packages\/lake|parquet-wasm|wasm:)/, 'lake: compaction, Parquet (packages/lake)'],
  [/^(services\/)/, 'service code (services/*)'],
  [/^(prom-client|pino|thread-stream|sonic-boom)/, 'metrics + logging'],
  [/^(node:internal\/crypto|node:crypto)/, 'crypto (request hash)'],
  [/^(node:buffer|node:internal\/buffer)/, 'Buffer copies'],
  [
    /^(node:internal\/modules|node:internal\/deps\/cjs|tsx|esbuild|node:internal\/source_map)/,
    'module loading',
  ],
];

function area(file: string): string {
  for (const [re, name] of AREAS) {
    const m = re.exec(file);
    if (m) return name.includes('$1') ? `(${m[1]})` : name;
  }
  return file.startsWith('node:') || file === '(native code)' ? 'other Node.js internals' : 'other';
}

export function summarizeProfile(
  profile: Profile,
  by: 'file' | 'function' | 'area',
  fromS = 0,
  toS = Number.POSITIVE_INFINITY,
): {
  totalMs: number;
  entries: ProfileEntry[];
} {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let t = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    t += dt;
    if (t < fromS * 1e6 || t > toS * 1e6) return;
    self.set(id, (self.get(id) ?? 0) + dt);
  });
  const totals = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const fn = n.callFrame.functionName || '(anonymous)';
    const file = where(n.callFrame.url, fn);
    const key =
      by === 'file'
        ? file
        : by === 'area'
          ? area(file)
          : `${fn}  ${file}:${n.callFrame.lineNumber + 1}`;
    totals.set(key, (totals.get(key) ?? 0) + us);
    total += us;
  }
  const entries = [...totals]
    .map(([name, us]) => ({ name, selfMs: us / 1000, share: us / total }))
    .sort((a, b) => b.selfMs - a.selfMs);
  return { totalMs: total / 1000, entries };
}

function main(): void {
  const args = process.argv.slice(2);
  const top = Number(args[args.indexOf('--top') + 1] ?? 30) || 30;
  const byArg = args.includes('--by') ? args[args.indexOf('--by') + 1] : undefined;
  const num = (name: string, def: number) =>
    args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : def;
  const from = num('from', 0);
  const to = num('to', Number.POSITIVE_INFINITY);
  const files = args.filter((a, i) => a.endsWith('.cpuprofile') && args[i - 1] !== '--top');
  for (const file of files) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
    const wall = (profile.endTime - profile.startTime) / 1e6;
    const modes = byArg
      ? [byArg as 'file' | 'function' | 'area']
      : (['area', 'file', 'function'] as const);
    for (const by of modes) {
      const { totalMs, entries } = summarizeProfile(profile, by, from, to);
      const idle = entries.find((e) => e.name.startsWith('(idle)'))?.selfMs ?? 0;
      // (idle) is the event loop waiting; everything else is CPU.
      console.log(
        `\n${file}: ${wall.toFixed(1)} s wall, ${((totalMs - idle) / 1000).toFixed(1)} s busy — top by ${by}`,
      );
      for (const e of entries.slice(0, top)) {
        console.log(
          `${(e.share * 100).toFixed(1).padStart(5)}%  ${e.selfMs.toFixed(0).padStart(7)} ms  ${e.name}`,
        );
      }
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
