/**
 * What the images run, run here without Docker: the build step (`tsc -b`), the entry
 * command (`node services/cli/dist/main.js …`, from the Dockerfiles' ENTRYPOINT/CMD),
 * the writer as PID 1 of its own PID namespace taking SIGTERM from outside (what
 * `docker stop` does), and the compose stack as processes: the writer and acceptor
 * commands with the compose environment (MinIO replaced by the test S3 server, each
 * container's ports moved to free ones), health per the compose health checks, the
 * `load` service's command, SIGTERM drains, and the README's `sediment query`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { s3TestOptions } from '@sediment/object-store/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { all, envPairs, healthcheck, last } from './support/dockerfile.js';
import {
  type ComposeService,
  composeArgv,
  composeEnv,
  DOCKERFILES,
  imageEntry,
  loadCompose,
  splitNodeArgv,
} from './support/manifests.js';
import { expressions, loadDashboard, metricNames } from './support/metrics.js';
import {
  baseEnv,
  buildLikeTheImage,
  canUnsharePid,
  childPids,
  freePort,
  nsPids,
  type Running,
  run,
  start,
  waitFor,
} from './support/processes.js';
import { CLI_COMMANDS, readRepo, rolePorts } from './support/repo.js';

const started: Running[] = [];
let cleanupBuild: (() => void) | undefined;

beforeAll(async () => {
  cleanupBuild = await buildLikeTheImage();
}, 600_000);

afterAll(async () => {
  for (const r of started)
    if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
  await Promise.allSettled(started.map((r) => r.exited));
  cleanupBuild?.();
});

function track(r: Running): Running {
  started.push(r);
  return r;
}

/** The ENV of an image's final stage. */
function imageEnv(dockerfile: string): Record<string, string> {
  return Object.fromEntries(
    all(DOCKERFILES[dockerfile]!.final, 'ENV').flatMap((e) => envPairs(e.args)),
  );
}

describe('the image entry command, outside Docker', () => {
  const acceptorEntry = imageEntry('Dockerfile.acceptor');
  const writerEntry = imageEntry('Dockerfile.writer');

  it('is the same script in both images, and prints the usage with every command', async () => {
    expect(splitNodeArgv(acceptorEntry.entrypoint)?.script).toBe(
      splitNodeArgv(writerEntry.entrypoint)?.script,
    );
    const r = await run([...writerEntry.entrypoint, '--help'], baseEnv());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: sediment <command>/);
    for (const c of CLI_COMMANDS) expect(r.stdout).toContain(`  ${c} `);
  });

  it('runs each image’s default command (its --help loads every module it needs)', async () => {
    for (const [file, entry] of [
      ['Dockerfile.acceptor', acceptorEntry],
      ['Dockerfile.writer', writerEntry],
    ] as const) {
      const r = await run([...entry.entrypoint, ...entry.cmd, '--help'], {
        ...baseEnv(),
        ...imageEnv(file),
      });
      expect(r.code, `${file}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(`Usage: sediment ${entry.cmd[0]}`);
    }
    // The read-side commands the writer image is used for load too (DuckDB's native binding).
    for (const cmd of ['query', 'inspect']) {
      const r = await run([...writerEntry.entrypoint, cmd, '--help'], baseEnv());
      expect(r.code, `${cmd}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(`Usage: sediment ${cmd}`);
    }
  });

  it('exits 2 on an unknown command (so a typo in a manifest fails loudly)', async () => {
    const r = await run([...writerEntry.entrypoint, 'acceptr'], baseEnv());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command');
  });

  it('as PID 1 of its own PID namespace, the writer drains on SIGTERM from outside and exits 0', async () => {
    if (!(await canUnsharePid())) {
      const message = 'unshare --pid is not available here: the PID 1 check cannot run';
      if (process.env.SEDIMENT_CI === '1') throw new Error(message);
      console.warn(`\n!!! ${message} (it runs in CI)\n`);
      return;
    }
    const data = await mkdtemp(path.join(tmpdir(), 'sediment-pid1-'));
    try {
      const [adminPort, flightPort] = [await freePort(), await freePort()];
      const env = {
        ...baseEnv(),
        ...imageEnv('Dockerfile.writer'),
        // The image's /data volume, here a temporary directory.
        SEDIMENT_STORE: `file://${data}`,
        SEDIMENT_FLIGHT_PORT: String(flightPort),
        SEDIMENT_WRITER_ADMIN_PORT: String(adminPort),
      };
      const unshare = track(
        start(
          [
            'unshare',
            '--pid',
            '--fork',
            '--kill-child',
            '--',
            process.execPath,
            ...writerEntry.entrypoint.slice(1),
            ...writerEntry.cmd,
          ],
          env,
        ),
      );
      // The image's HEALTHCHECK, as Docker would run it, tells when the writer is up.
      const hc = healthcheck(last(DOCKERFILES['Dockerfile.writer']!.final, 'HEALTHCHECK')!.args)
        .cmd as string[];
      await waitFor(
        async () => (await run(hc, env, 10_000)).code === 0,
        60_000,
        () => unshare.output(),
      );
      const [nodePid] = childPids(unshare.child.pid!);
      expect(nodePid, 'the forked node process').toBeDefined();
      expect(nsPids(nodePid!).at(-1), 'node is PID 1 in its namespace').toBe(1);
      process.kill(nodePid!, 'SIGTERM');
      const done = await unshare.exited;
      expect(done.code, unshare.output()).toBe(0);
      expect(done.stdout).toContain('shutting down');
    } finally {
      await rm(data, { recursive: true, force: true });
    }
  });
});

describe('the compose stack, as processes', () => {
  const s3 = s3TestOptions();
  const compose = loadCompose();
  const services = compose.services;

  describe.skipIf(!s3)('writer + acceptor + load on S3', () => {
    /** Each compose service's container ports → host ports (its own network namespace in Docker). */
    const portMap = new Map<string, Map<number, number>>();
    const hostOf = (service: string, port: number): string => {
      if (service === 'minio') return new URL(s3!.endpoint!).host;
      const p = portMap.get(service)?.get(port);
      if (p === undefined) throw new Error(`${service}:${port} is not mapped`);
      return `127.0.0.1:${p}`;
    };
    /** A compose value with service:port references rewritten to where the process runs. */
    const rewrite = (value: string) =>
      value.replace(/\b([a-z][a-z0-9-]*):(\d+)\b/g, (m, svc: string, port: string) =>
        services[svc] ? hostOf(svc, Number(port)) : m,
      );

    const prefix = s3?.prefix ?? '';
    const credentials = s3?.credentials as
      | { accessKeyId: string; secretAccessKey: string }
      | undefined;
    const cache = path.join(tmpdir(), `sediment-compose-query-${process.pid}`);

    /** The process environment of a compose service: image ENV + compose env, rewritten. */
    const envOf = (name: string, dockerfile: string): Record<string, string> => {
      const env: Record<string, string> = { ...baseEnv(), ...imageEnv(dockerfile) };
      for (const [k, v] of Object.entries(composeEnv(services[name]!))) env[k] = rewrite(v);
      if (env.SEDIMENT_STORE?.startsWith('s3://')) {
        // The compose bucket on MinIO → the test bucket, under this run's random prefix.
        const u = new URL(env.SEDIMENT_STORE);
        env.SEDIMENT_STORE = `s3://${s3!.bucket}/${prefix}${u.pathname}`;
        env.S3_ENDPOINT = s3!.endpoint!;
        env.AWS_REGION = s3!.region!;
        env.S3_FORCE_PATH_STYLE = String(s3!.forcePathStyle ?? true);
        env.AWS_ACCESS_KEY_ID = credentials?.accessKeyId ?? '';
        env.AWS_SECRET_ACCESS_KEY = credentials?.secretAccessKey ?? '';
        env.SEDIMENT_QUERY_CACHE = cache;
      }
      return env;
    };

    /** A port setting pointing the process at its mapped host port. */
    const listenOn = (
      name: string,
      ports: Record<string, number>,
      settings: Record<string, string>,
    ) => {
      const map = new Map<number, number>();
      const extra: Record<string, string> = {};
      return (async () => {
        for (const [purpose, setting] of Object.entries(settings)) {
          const host = await freePort();
          map.set(ports[purpose]!, host);
          extra[setting] = String(host);
        }
        portMap.set(name, map);
        return extra;
      })();
    };

    const healthy = async (name: string, env: Record<string, string>, proc: Running) => {
      const test = services[name]!.healthcheck!.test as string[];
      expect(test[0]).toBe('CMD');
      await waitFor(
        async () => {
          if (proc.child.exitCode !== null) throw new Error(`${name} exited:\n${proc.output()}`);
          return (await run(test.slice(1), env, 10_000)).code === 0;
        },
        90_000,
        () => `${name} never became healthy:\n${proc.output()}`,
      );
    };

    const argvOf = (s: ComposeService) => composeArgv(s)!;
    let writer: Running;
    let acceptor: Running;
    let writerEnv: Record<string, string>;
    let acceptorEnv: Record<string, string>;
    let load: {
      traces: { acked: number };
      metrics: { acked: number };
      logs: { acked: number };
      ok: boolean;
    };

    afterAll(async () => {
      await rm(cache, { recursive: true, force: true });
    });

    it('starts the writer (collector) and the acceptor from their compose definitions, healthy', async () => {
      const wPorts = rolePorts('writer', composeEnv(services.writer!));
      writerEnv = envOf('writer', 'Dockerfile.writer');
      Object.assign(
        writerEnv,
        await listenOn('writer', wPorts, {
          flight: 'SEDIMENT_FLIGHT_PORT',
          admin: 'SEDIMENT_WRITER_ADMIN_PORT',
        }),
      );
      writer = track(start(argvOf(services.writer!), writerEnv));
      await healthy('writer', writerEnv, writer);

      const aPorts = rolePorts('acceptor', composeEnv(services.acceptor!));
      const extra = await listenOn('acceptor', aPorts, {
        grpc: 'SEDIMENT_GRPC_PORT',
        http: 'SEDIMENT_HTTP_PORT',
      });
      acceptorEnv = { ...envOf('acceptor', 'Dockerfile.acceptor'), ...extra };
      acceptor = track(start(argvOf(services.acceptor!), acceptorEnv));
      await healthy('acceptor', acceptorEnv, acceptor);
    }, 240_000);

    it('acks the load service’s traces, metrics and logs', async () => {
      const argv = [
        ...argvOf(services.load!),
        '--rounds',
        '4',
        '--interval',
        '50ms',
        '--batch',
        '25',
      ];
      const env = { ...baseEnv(), ...imageEnv('Dockerfile.writer') };
      for (const [k, v] of Object.entries(composeEnv(services.load!))) env[k] = rewrite(v);
      const r = await run(argv, env, 120_000);
      expect(r.code, `${r.stdout}\n${r.stderr}\n${acceptor.output()}`).toBe(0);
      load = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
      expect(load.ok).toBe(true);
      expect(load.traces.acked).toBe(4 * 25);
      expect(load.logs.acked).toBe(4 * 25);
      expect(load.metrics.acked).toBe(4 * 25 * 3);
    }, 180_000);

    it('exposes every metric the dashboard queries', async () => {
      const names = new Set<string>();
      for (const url of [
        `http://${hostOf('writer', rolePorts('writer', composeEnv(services.writer!)).admin!)}/metrics`,
        `http://${hostOf('acceptor', rolePorts('acceptor', composeEnv(services.acceptor!)).admin!)}/metrics`,
      ]) {
        const text = await (await fetch(url)).text();
        for (const m of text.matchAll(/^# TYPE (\S+) (\w+)$/gm)) {
          names.add(m[1]!);
          if (m[2] === 'histogram')
            for (const s of ['_bucket', '_sum', '_count']) names.add(m[1]! + s);
        }
      }
      for (const { where, expr } of expressions(loadDashboard())) {
        for (const n of metricNames(expr))
          expect(names.has(n), `${where}: ${n} not exposed`).toBe(true);
      }
    });

    it('drains on SIGTERM (compose down): both exit 0, the writer after committing everything', async () => {
      acceptor.child.kill('SIGTERM');
      const a = await acceptor.exited;
      expect(a.code, acceptor.output()).toBe(0);
      writer.child.kill('SIGTERM');
      const w = await writer.exited;
      expect(w.code, writer.output()).toBe(0);
    }, 180_000);

    it('answers the README’s `docker compose run --rm writer query` with exactly the acked rows', async () => {
      const query = (sql: string, ...rest: string[]) =>
        run(
          [...imageEntry('Dockerfile.writer').entrypoint, 'query', sql, ...rest],
          writerEnv,
          120_000,
        );
      const counts = await query(
        `SELECT (SELECT count(*) FROM spans) AS spans, (SELECT count(*) FROM logs) AS logs,
                (SELECT count(*) FROM metrics_gauge) AS gauge, (SELECT count(*) FROM metrics_sum) AS sum,
                (SELECT count(*) FROM metrics_histogram) AS histogram`,
        '--output',
        'json',
      );
      expect(counts.code, counts.stderr).toBe(0);
      const row = JSON.parse(counts.stdout.trim().split('\n').at(-1)!);
      expect(Number(row.spans)).toBe(load.traces.acked);
      expect(Number(row.logs)).toBe(load.logs.acked);
      expect(Number(row.gauge) + Number(row.sum) + Number(row.histogram)).toBe(load.metrics.acked);

      // The first query of deploy/README.md's compose walkthrough, as written there.
      const readme = readRepo('deploy/README.md');
      const m = /docker compose run --rm writer query \\\n\s*"([^"]+)"/.exec(readme);
      expect(m, 'the compose query example in deploy/README.md').not.toBeNull();
      const r = await query(m![1]!);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/service_name/);
      expect(r.stdout).toMatch(/checkout|cart|payments|frontend/);
    }, 180_000);
  });
});
