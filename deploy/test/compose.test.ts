/**
 * docker-compose.yml against the code and the Dockerfiles: images and what they run,
 * environment names and values, ports, health checks, start order, and that the
 * pieces point at each other (store ↔ MinIO ↔ bucket, acceptor ↔ writer, Flight
 * token, Prometheus targets). The stack itself runs (as plain processes) in
 * runtime.test.ts.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { all, execForm, shellWords } from './support/dockerfile.js';
import {
  type ComposeService,
  composeArgv,
  composeContainerPorts,
  composeDependsOn,
  composeDockerfile,
  composeEnv,
  DOCKERFILES,
  loadCompose,
  splitNodeArgv,
} from './support/manifests.js';
import {
  CLI_COMMANDS,
  effective,
  IMAGE_OF_DOCKERFILE,
  REPO,
  ROOT_PACKAGE,
  readRepo,
  repoFileExists,
  roleOf,
  rolePorts,
  SEDIMENT_VAR,
  SETTINGS,
  splitImage,
} from './support/repo.js';

const compose = loadCompose();
const services = compose.services;
const ours = Object.entries(services).filter(([, s]) => composeDockerfile(s) !== undefined);

/** The `sediment <command>` a service runs (argv after the entry script), if any. */
function sedimentArgs(s: ComposeService): string[] | undefined {
  const node = splitNodeArgv(composeArgv(s));
  if (!node?.script.endsWith('/services/cli/dist/main.js')) return undefined;
  return node.args;
}

function roleOfService(name: string): 'acceptor' | 'writer' | undefined {
  return roleOf(sedimentArgs(services[name]!)?.[0]);
}

function isOneShot(s: ComposeService): boolean {
  return s.restart === 'no';
}

/** Files a Dockerfile copies from the context into the image: image path → repo path. */
function imageFiles(dockerfile: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of all(DOCKERFILES[dockerfile]!.final, 'COPY')) {
    const words = execForm(c.args) ?? shellWords(c.args);
    if (words.some((w) => w.startsWith('--from='))) continue;
    const plain = words.filter((w) => !w.startsWith('--'));
    if (plain.length === 2) out.set(plain[1]!, plain[0]!);
  }
  return out;
}

describe('docker-compose.yml', () => {
  it('has MinIO, the bucket job, a writer, an acceptor and the sample load', () => {
    for (const name of ['minio', 'minio-init', 'writer', 'acceptor', 'load']) {
      expect(services[name], name).toBeDefined();
    }
    expect(roleOfService('writer')).toBe('writer');
    expect(roleOfService('acceptor')).toBe('acceptor');
  });

  it('pins every third-party image to a release tag', () => {
    for (const [name, s] of Object.entries(services)) {
      if (composeDockerfile(s) !== undefined) continue;
      const [repo, tag] = splitImage(s.image ?? '');
      expect(repo, name).not.toBe('');
      expect(tag, `${name}: ${s.image} has no tag`).toBeDefined();
      expect(tag, `${name}: ${s.image}`).not.toMatch(/^(latest|edge|main|nightly)$/);
      expect(tag, `${name}: ${s.image}`).toMatch(/\d/);
    }
  });

  it('builds our images from the Dockerfiles under their names, tagged with the release', () => {
    expect(ours.length).toBeGreaterThan(0);
    for (const [name, s] of ours) {
      const dockerfile = composeDockerfile(s)!;
      expect(IMAGE_OF_DOCKERFILE[dockerfile], `${name}: ${dockerfile}`).toBeDefined();
      expect(s.build, `${name} must build its image (compose cannot pull it)`).toBeDefined();
      const build = s.build as { context?: string; dockerfile?: string };
      expect(build.context).toBe('.');
      expect(repoFileExists(build.dockerfile!)).toBe(true);
      expect(s.image).toBe(`${IMAGE_OF_DOCKERFILE[dockerfile]}:${ROOT_PACKAGE.version}`);
    }
  });

  it('runs the image entry point with a command sediment knows, or a script the image holds', () => {
    for (const [name, s] of ours) {
      const argv = composeArgv(s)!;
      expect(argv[0], name).toBe('node');
      const args = sedimentArgs(s);
      if (args) {
        expect(CLI_COMMANDS, `${name}: sediment ${args[0]}`).toContain(args[0]);
        continue;
      }
      const files = imageFiles(composeDockerfile(s)!);
      expect(files.has(argv[1]!), `${name}: ${argv[1]} is not in the image`).toBe(true);
      expect(repoFileExists(files.get(argv[1]!)!)).toBe(true);
    }
  });

  it('sets only environment variables the code reads, with values it accepts', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [key, value] of Object.entries(composeEnv(s))) {
        if (!SEDIMENT_VAR.test(key)) continue;
        expect(SETTINGS.has(key), `${name}: ${key} is not a Sediment setting`).toBe(true);
        expect(() => effective(key, { [key]: value }), `${name}: ${key}=${value}`).not.toThrow();
      }
    }
  });

  it('publishes only ports the processes listen on, and the acceptor’s OTLP ports', () => {
    for (const [name, s] of ours) {
      const role = roleOfService(name);
      const ports = composeContainerPorts(s);
      if (!role) {
        expect(ports, `${name} runs no server`).toEqual([]);
        continue;
      }
      const listening = new Set(Object.values(rolePorts(role, composeEnv(s))));
      for (const p of ports) expect(listening.has(p), `${name}: container port ${p}`).toBe(true);
    }
    const acceptorPorts = rolePorts('acceptor', composeEnv(services.acceptor!));
    expect(composeContainerPorts(services.acceptor!)).toEqual(
      expect.arrayContaining([acceptorPorts.grpc, acceptorPorts.http]),
    );
  });

  it('health-checks every long-running service; ours with the image’s script on the admin routes', () => {
    for (const [name, s] of Object.entries(services)) {
      if (isOneShot(s)) continue;
      const test = s.healthcheck?.test;
      expect(Array.isArray(test) && test.length > 1, `${name}: healthcheck.test`).toBe(true);
      expect(s.healthcheck?.disable).not.toBe(true);
    }
    for (const [name, s] of ours) {
      const role = roleOfService(name);
      if (!role) continue;
      const test = s.healthcheck!.test as string[];
      expect(test[0]).toBe('CMD');
      expect(test[1]).toBe('node');
      const files = imageFiles(composeDockerfile(s)!);
      expect(files.get(test[2]!), `${name}: ${test[2]} not copied into the image`).toBe(
        'deploy/container/healthcheck.mjs',
      );
      expect(test[3]).toBe(role);
      expect(['/healthz', '/readyz']).toContain(test[4] ?? '/healthz');
    }
  });

  it('starts in order: MinIO healthy → bucket created → writer healthy → acceptor healthy → load', () => {
    expect(composeDependsOn(services['minio-init']!)).toEqual({ minio: 'service_healthy' });
    expect(composeDependsOn(services.writer!)).toEqual({
      minio: 'service_healthy',
      'minio-init': 'service_completed_successfully',
    });
    expect(composeDependsOn(services.acceptor!)).toEqual({ writer: 'service_healthy' });
    expect(composeDependsOn(services.load!)).toEqual({ acceptor: 'service_healthy' });
    // Whatever a service waits on as healthy has a health check; completed ones are one-shots.
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, condition] of Object.entries(composeDependsOn(s))) {
        expect(services[dep], `${name} depends on ${dep}`).toBeDefined();
        if (condition === 'service_healthy') expect(services[dep]!.healthcheck?.test).toBeDefined();
        if (condition === 'service_completed_successfully')
          expect(isOneShot(services[dep]!)).toBe(true);
      }
    }
  });

  it('wires the store to MinIO: endpoint, credentials and the bucket the init job creates', () => {
    const env = composeEnv(services.writer!);
    const minioEnv = composeEnv(services.minio!);
    const endpoint = new URL(env.S3_ENDPOINT!);
    expect(services[endpoint.hostname], `S3_ENDPOINT host ${endpoint.hostname}`).toBeDefined();
    expect(Number(endpoint.port)).toBe(9000);
    expect(composeContainerPorts(services.minio!)).toContain(9000);
    expect(env.AWS_ACCESS_KEY_ID).toBe(minioEnv.MINIO_ROOT_USER);
    expect(env.AWS_SECRET_ACCESS_KEY).toBe(minioEnv.MINIO_ROOT_PASSWORD);
    expect(effective('S3_FORCE_PATH_STYLE', env)).toBe(true);
    const store = new URL(env.SEDIMENT_STORE!);
    expect(store.protocol).toBe('s3:');
    const init = [...(services['minio-init']!.command as string[])].join(' ');
    const mb = /mc mb (?:--ignore-existing )?(\S+)\/(\S+)/.exec(init);
    expect(mb, 'minio-init creates a bucket').not.toBeNull();
    expect(mb![2]).toBe(store.hostname);
    const alias = /mc alias set (\S+) (\S+)/.exec(init);
    expect(alias![1]).toBe(mb![1]);
    expect(new URL(alias![2]!).host).toBe(endpoint.host);
  });

  it('points the acceptor at the writer’s Flight port, with a token the writer accepts', () => {
    const acceptorEnv = composeEnv(services.acceptor!);
    const writers = effective('SEDIMENT_WRITERS', acceptorEnv) as string[];
    expect(writers.length).toBeGreaterThan(0);
    for (const w of writers) {
      const [host, port] = w.split(':');
      expect(roleOfService(host!), `SEDIMENT_WRITERS names ${host}`).toBe('writer');
      expect(Number(port)).toBe(rolePorts('writer', composeEnv(services[host!]!)).flight);
    }
    const tokens = effective('SEDIMENT_FLIGHT_TOKENS', composeEnv(services.writer!)) as
      | string[]
      | undefined;
    const token = effective('SEDIMENT_WRITER_TOKEN', acceptorEnv) as string | undefined;
    expect(tokens === undefined).toBe(token === undefined);
    if (token !== undefined) expect(tokens).toContain(token);
    // Exactly one collector.
    const collectors = Object.entries(services).filter(
      ([n, s]) =>
        roleOfService(n) === 'writer' && effective('SEDIMENT_COLLECTOR', composeEnv(s)) === true,
    );
    expect(collectors.map(([n]) => n)).toEqual(['writer']);
  });

  it('sends the sample load to the acceptor’s OTLP/HTTP port', () => {
    const argv = composeArgv(services.load!)!;
    const i = argv.indexOf('--endpoint');
    const endpoint = new URL(
      i >= 0 ? argv[i + 1]! : composeEnv(services.load!).OTEL_EXPORTER_OTLP_ENDPOINT!,
    );
    expect(roleOfService(endpoint.hostname)).toBe('acceptor');
    expect(Number(endpoint.port)).toBe(rolePorts('acceptor', composeEnv(services.acceptor!)).http);
  });

  it('has Prometheus scrape each Sediment service on the port serving its /metrics', () => {
    const prom = parse(readRepo('deploy/prometheus/prometheus.yml')) as {
      scrape_configs: {
        job_name: string;
        metrics_path?: string;
        static_configs: { targets: string[] }[];
      }[];
    };
    const targets = prom.scrape_configs.flatMap((c) => {
      expect(c.metrics_path ?? '/metrics').toBe('/metrics');
      return c.static_configs.flatMap((s) => s.targets);
    });
    const scraped = new Set<string>();
    for (const t of targets) {
      const [host, port] = t.split(':');
      const role = roleOfService(host!);
      expect(role, `scrape target ${t}`).toBeDefined();
      expect(Number(port)).toBe(rolePorts(role!, composeEnv(services[host!]!)).admin);
      scraped.add(host!);
    }
    for (const [name] of ours)
      if (roleOfService(name)) expect(scraped.has(name), `${name} not scraped`).toBe(true);
  });

  it('mounts only files that exist', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const v of s.volumes ?? []) {
        const source = typeof v === 'string' ? v.split(':')[0]! : (v.source ?? '');
        if (!source.startsWith('./')) {
          expect(compose.volumes?.[source], `${name}: named volume ${source}`).toBeDefined();
          continue;
        }
        const rel = source.slice(2);
        expect(repoFileExists(rel) || existsDir(rel), `${name}: ${source}`).toBe(true);
      }
    }
  });

  it('gives the writer time to drain on stop (collector commits everything queued)', () => {
    const seconds = (d: string | undefined) => {
      const m = /^(\d+)(s|m)$/.exec(d ?? '');
      return m ? Number(m[1]) * (m[2] === 'm' ? 60 : 1) : 10;
    };
    expect(seconds(services.writer!.stop_grace_period)).toBeGreaterThanOrEqual(60);
    const timeoutMs = effective(
      'SEDIMENT_WRITER_TIMEOUT',
      composeEnv(services.acceptor!),
    ) as number;
    expect(seconds(services.acceptor!.stop_grace_period) * 1000).toBeGreaterThan(timeoutMs);
  });
});

function existsDir(rel: string): boolean {
  try {
    return statSync(path.join(REPO, rel)).isDirectory();
  } catch {
    return false;
  }
}
