/**
 * Dockerfile.acceptor and Dockerfile.writer against the code: base image and Node
 * version, stages, the build steps, the non-root user, the entry command, ports,
 * environment names, the health check, and that the build context (.dockerignore)
 * holds what the build needs and nothing built on the host.
 */

import { SERVICE_NODE_FLAGS } from '@sediment/service-kit';
import { describe, expect, it } from 'vitest';
import { all, envPairs, execForm, healthcheck, last, shellWords } from './support/dockerfile.js';
import { DOCKERFILES, imageEntry, splitNodeArgv } from './support/manifests.js';
import {
  CLI_COMMANDS,
  effective,
  IMAGE_OF_DOCKERFILE,
  ROOT_PACKAGE,
  readRepo,
  repoFileExists,
  roleOf,
  rolePorts,
  SEDIMENT_VAR,
  SETTINGS,
} from './support/repo.js';

const ENTRY_SCRIPT = 'services/cli/dist/main.js';

/** `>=20.6` → the lowest version it admits. Only the forms we use are understood. */
function enginesFloor(range: string): [number, number, number] {
  const m = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(range.trim());
  if (!m) throw new Error(`engines.node ${range}: only ">=x.y.z" is understood here`);
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
}

/** The paths a COPY from the build context names (sources), and its destination. */
function copies(args: string): { from?: string; sources: string[]; dest: string } {
  const words = execForm(args) ?? shellWords(args);
  const flags = words.filter((w) => w.startsWith('--'));
  const rest = words.filter((w) => !w.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  return { ...(from ? { from } : {}), sources: rest.slice(0, -1), dest: rest.at(-1)! };
}

/** .dockerignore as Docker applies it (last matching pattern wins; `!` re-includes). */
function dockerignore(): (path: string) => boolean {
  const patterns = readRepo('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const body = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, '');
      const re = body
        .split('/')
        .map((seg) =>
          seg === '**'
            ? '(?:.*)'
            : seg
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/')
        .replace(/\(\?:\.\*\)\//g, '(?:.*/)?');
      // A pattern naming a directory also excludes everything under it.
      return { negate, re: new RegExp(`^${re}(?:/.*)?$`) };
    });
  return (path) => {
    let excluded = false;
    for (const p of patterns) if (p.re.test(path)) excluded = !p.negate;
    return excluded;
  };
}

describe.each(Object.keys(IMAGE_OF_DOCKERFILE))('%s', (file) => {
  const df = DOCKERFILES[file]!;
  const final = df.final;
  const role = file === 'Dockerfile.acceptor' ? 'acceptor' : 'writer';

  it('is multi-stage: a build stage, then a runtime stage that copies only its output', () => {
    expect(df.stages.length).toBeGreaterThanOrEqual(2);
    const build = df.stages[0]!;
    expect(build.name).toBe('build');
    // The runtime stage takes the deployed tree from the build stage; from the context it
    // takes only single files (scripts), never the sources or node_modules.
    const fromBuild = all(final, 'COPY')
      .map((c) => copies(c.args))
      .filter((c) => c.from === 'build');
    expect(fromBuild).toEqual([{ from: 'build', sources: ['/out'], dest: '/app/services/cli' }]);
    for (const c of all(final, 'COPY')
      .map((c) => copies(c.args))
      .filter((c) => c.from === undefined)) {
      for (const s of c.sources)
        expect(repoFileExists(s), `${file}: COPY ${s} names a file`).toBe(true);
    }
    expect(all(final, 'ADD')).toEqual([]);
  });

  it('pins every base image to an exact Node release whose major matches engines.node', () => {
    const [major, minor, patch] = enginesFloor(ROOT_PACKAGE.engines.node);
    for (const stage of df.stages) {
      const m = /^node:(\d+)\.(\d+)\.(\d+)-bookworm-slim(@sha256:[0-9a-f]{64})?$/.exec(stage.image);
      expect(m, `${file}: FROM ${stage.image} is not node:<x.y.z>-bookworm-slim`).not.toBeNull();
      const v = [Number(m![1]), Number(m![2]), Number(m![3])];
      expect(v[0], `${file}: Node major`).toBe(major);
      const atLeast = v[1]! > minor || (v[1] === minor && v[2]! >= patch);
      expect(
        atLeast,
        `${file}: ${stage.image} below engines.node ${ROOT_PACKAGE.engines.node}`,
      ).toBe(true);
    }
    // Both stages on the same release: native modules are built for the runtime's ABI.
    expect(new Set(df.stages.map((s) => s.image)).size).toBe(1);
    // The machine's Node (what the tests ran on) has the same major.
    expect(Number(process.versions.node.split('.')[0])).toBe(major);
  });

  it('builds with the frozen lockfile, tsc -b, and deploys production dependencies only', () => {
    const runs = all(df.stages[0]!, 'RUN').map((r) => r.args);
    const joined = runs.join('\n');
    expect(joined).toMatch(/pnpm install --frozen-lockfile/);
    expect(joined).toMatch(/pnpm build\b/);
    expect(JSON.parse(readRepo('package.json')).scripts.build).toBe('tsc -b tsconfig.build.json');
    expect(joined).toMatch(/pnpm --filter @sediment\/cli deploy --prod\b.* \/out$/m);
    // pnpm pinned to the repository's packageManager version.
    const pm = JSON.parse(readRepo('package.json')).packageManager as string;
    expect(joined).toContain(`npm install -g ${pm}`);
    // zstd-napi's native build needs a compiler when no prebuilt binary fits.
    expect(joined).toMatch(/apt-get install .*python3 .*make .*g\+\+/);
    // The lockfile the install is frozen to is in the context.
    const ignored = dockerignore();
    expect(ignored('pnpm-lock.yaml')).toBe(false);
  });

  it('has the same build stage as the other Dockerfile (built once for both images)', () => {
    const others = Object.keys(IMAGE_OF_DOCKERFILE).filter((f) => f !== file);
    const sig = (f: string) =>
      DOCKERFILES[f]!.stages[0]!.instructions.map((i) => `${i.keyword} ${i.args}`);
    for (const other of others) expect(sig(file)).toEqual(sig(other));
  });

  it('runs as the numeric non-root user 10001', () => {
    const user = last(final, 'USER');
    expect(user?.args).toBe('10001:10001');
    const runs = all(final, 'RUN')
      .map((r) => r.args)
      .join('\n');
    expect(runs).toMatch(/useradd [^\n]*--uid 10001/);
  });

  it('enters through the sediment command in exec form, SIGTERM to node itself', () => {
    const { entrypoint, cmd } = imageEntry(file);
    const node = splitNodeArgv(entrypoint);
    expect(node, `${file}: ENTRYPOINT is not node <script>`).toBeDefined();
    // The script sits where the deployed tree is copied.
    expect(node!.script).toBe(`/app/${ENTRY_SCRIPT}`);
    expect(node!.args).toEqual([]);
    // Each image runs with the V8 flags `sediment start` gives the service processes.
    expect(node!.flags).toEqual([...SERVICE_NODE_FLAGS]);
    expect(cmd).toEqual([role]);
    expect(CLI_COMMANDS).toContain(cmd[0]);
    expect(last(final, 'STOPSIGNAL')?.args).toBe('SIGTERM');
    expect(last(final, 'WORKDIR')?.args).toBe('/app');
  });

  it('exposes the ports the command listens on by default', () => {
    const exposed = all(final, 'EXPOSE')
      .flatMap((e) => e.args.split(/\s+/))
      .map((p) => Number(p.split('/')[0]))
      .sort();
    const env = Object.fromEntries(all(final, 'ENV').flatMap((e) => envPairs(e.args)));
    const ports = new Set(Object.values(rolePorts(roleOf(role)!, env)));
    expect(exposed).toEqual([...ports].sort());
  });

  it('sets only environment variables the code reads, with values it accepts', () => {
    for (const ins of all(final, 'ENV')) {
      for (const [name, value] of envPairs(ins.args)) {
        if (!SEDIMENT_VAR.test(name)) continue;
        expect(SETTINGS.has(name), `${file}: ENV ${name} is not a Sediment setting`).toBe(true);
        expect(() => effective(name, { [name]: value })).not.toThrow();
      }
    }
  });

  it('checks health with node and the health-check script copied into the image', () => {
    const hc = last(final, 'HEALTHCHECK');
    expect(hc, `${file}: no HEALTHCHECK`).toBeDefined();
    const { options, cmd } = healthcheck(hc!.args);
    expect(cmd).not.toBe('NONE');
    const argv = cmd as string[];
    expect(argv[0]).toBe('node');
    expect(argv.slice(2)).toEqual([role]);
    const dest = argv[1]!;
    const copied = all(final, 'COPY')
      .map((c) => copies(c.args))
      .find((c) => c.from === undefined && c.dest === dest);
    expect(copied, `${file}: ${dest} is not copied into the image`).toBeDefined();
    expect(copied!.sources).toEqual(['deploy/container/healthcheck.mjs']);
    for (const k of ['interval', 'timeout', 'start-period', 'retries'])
      expect(options[k]).toBeDefined();
  });
});

describe('.dockerignore', () => {
  const ignored = dockerignore();

  it('keeps host build output, dependencies, data and VCS out of the context', () => {
    for (const p of [
      'node_modules',
      'node_modules/.pnpm/x/index.js',
      'packages/otlp/node_modules/apache-arrow/index.js',
      'packages/otlp/dist/index.js',
      'services/cli/dist/main.js',
      'services/cli/dist/.tsbuildinfo',
      '.git/HEAD',
      'data/ingest/manifest',
      'deploy/kubernetes/acceptor.yaml',
      'deploy/test/dockerfiles.test.ts',
    ]) {
      expect(ignored(p), `${p} should be excluded`).toBe(true);
    }
  });

  it('keeps everything the build stage and the runtime COPY lines need', () => {
    const needed = [
      'package.json',
      'pnpm-lock.yaml',
      'pnpm-workspace.yaml',
      'tsconfig.base.json',
      'tsconfig.build.json',
      'services/cli/package.json',
      'services/cli/tsconfig.build.json',
      'services/cli/src/main.ts',
      'services/cli/bin/sediment.mjs',
      'packages/otlp/src/index.ts',
    ];
    for (const file of Object.keys(IMAGE_OF_DOCKERFILE)) {
      for (const stage of DOCKERFILES[file]!.stages) {
        for (const c of all(stage, 'COPY').map((i) => copies(i.args))) {
          if (c.from === undefined) needed.push(...c.sources.filter((s) => s !== '.'));
        }
      }
    }
    for (const p of needed) expect(ignored(p), `${p} must stay in the build context`).toBe(false);
  });

  it('keeps every workspace package’s sources and build config (they are compiled in the image)', () => {
    const refs = (JSON.parse(readRepo('tsconfig.build.json')) as { references: { path: string }[] })
      .references;
    for (const { path } of refs) {
      const dir = path.replace(/^\.\//, '').replace(/\/tsconfig\.build\.json$/, '');
      expect(ignored(`${dir}/tsconfig.build.json`)).toBe(false);
      expect(ignored(`${dir}/package.json`)).toBe(false);
      expect(ignored(`${dir}/src/index.ts`)).toBe(false);
    }
  });
});
