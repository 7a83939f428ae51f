/**
 * The Kubernetes manifests against the code and each other: what each container runs,
 * its environment (names and values the code accepts), its ports and probes, the
 * Services, autoscaler, disruption budgets and network policy that point at it, the
 * Secrets it needs (documented in deploy/README.md), security settings and resources.
 */
import { describe, expect, it } from 'vitest';
import { all } from './support/dockerfile.js';
import {
  containerEnv,
  DOCKERFILES,
  dockerfileOfImage,
  imageEntry,
  K8S_DIR,
  type K8sObject,
  loadKubernetes,
  loadKustomization,
  resolvePort,
  selects,
  selectsExpr,
  splitNodeArgv,
  workloads,
} from './support/manifests.js';
import {
  CLI_COMMANDS,
  effective,
  listFiles,
  quantity,
  ROOT_PACKAGE,
  type Role,
  readRepo,
  roleOf,
  rolePorts,
  SEDIMENT_VAR,
  SETTINGS,
  splitImage,
} from './support/repo.js';

const objects = loadKubernetes();
const kustomization = loadKustomization();
const NAMESPACE = kustomization.namespace ?? 'default';

const byKind = (kind: string) => objects.filter((o) => o.object.kind === kind);
const find = (kind: string, name: string) =>
  objects.find((o) => o.object.kind === kind && o.object.metadata.name === name)?.object;

// biome-ignore lint/suspicious/noExplicitAny: a container spec
type Container = any;

interface ContainerInfo {
  readonly workload: K8sObject;
  readonly file: string;
  readonly container: Container;
  readonly dockerfile: string;
  /** What the container runs: command/args, else the image's ENTRYPOINT/CMD. */
  readonly argv: readonly string[];
  /** The sediment command it runs, undefined when it runs a script instead. */
  readonly command: string | undefined;
  readonly role: Role | undefined;
  readonly env: ReturnType<typeof containerEnv>;
}

function containers(): ContainerInfo[] {
  return workloads(objects).flatMap(({ file, object }) =>
    (object.spec.template.spec.containers as Container[]).map((container) => {
      const dockerfile = dockerfileOfImage(container.image);
      if (!dockerfile) throw new Error(`${file}: ${container.image} is not one of our images`);
      const image = imageEntry(dockerfile);
      const argv = [
        ...(container.command ?? image.entrypoint),
        ...(container.args ?? (container.command ? [] : image.cmd)),
      ];
      // `node <entry> <command>`, or `node <script>` for a script the image holds.
      const node = splitNodeArgv(argv);
      const sediment =
        node !== undefined && node.script === splitNodeArgv(image.entrypoint)?.script;
      const command = sediment ? node.args[0] : undefined;
      return {
        workload: object,
        file,
        container,
        dockerfile,
        argv,
        command,
        role: roleOf(command),
        env: containerEnv(container, objects, object.metadata.namespace ?? NAMESPACE),
      };
    }),
  );
}

const ALL = containers();
const deployment = (name: string) => {
  const c = ALL.find((i) => i.workload.kind === 'Deployment' && i.workload.metadata.name === name);
  if (!c) throw new Error(`no Deployment ${name}`);
  return c;
};

/** Secrets documented in deploy/README.md: `create secret generic NAME --from-literal=KEY=…`. */
function documentedSecrets(): Map<string, Set<string>> {
  const text = readRepo('deploy/README.md');
  const out = new Map<string, Set<string>>();
  for (const m of text.matchAll(/create secret generic ([\w.-]+)((?:[^\n]*\\\n)*[^\n]*)/g)) {
    const keys = new Set([...m[2]!.matchAll(/--from-literal=([\w.-]+)=/g)].map((k) => k[1]!));
    out.set(m[1]!, keys);
  }
  return out;
}

describe('kustomization', () => {
  it('lists every manifest in deploy/kubernetes (examples/ aside) and nothing else', () => {
    const files = listFiles(K8S_DIR)
      .filter((f) => /\.ya?ml$/.test(f))
      .filter((f) => !f.startsWith(`${K8S_DIR}/examples/`) && f !== `${K8S_DIR}/kustomization.yaml`)
      .map((f) => f.slice(K8S_DIR.length + 1));
    expect([...kustomization.resources].sort()).toEqual(files.sort());
  });

  it('puts everything in one namespace, the one the manifests name', () => {
    expect(find('Namespace', NAMESPACE)).toBeDefined();
    for (const { file, object } of objects) {
      if (object.kind === 'Namespace') continue;
      expect(object.metadata.namespace, `${file}: ${object.kind}/${object.metadata.name}`).toBe(
        NAMESPACE,
      );
    }
  });

  it('names only images our Dockerfiles build, tagged with the release', () => {
    for (const image of kustomization.images ?? []) {
      expect(dockerfileOfImage(image.name), image.name).toBeDefined();
      expect(image.newTag).toBe(ROOT_PACKAGE.version);
    }
    for (const c of ALL) {
      const [, tag] = splitImage(c.container.image);
      expect(tag, `${c.file}: ${c.container.image}`).toBe(ROOT_PACKAGE.version);
    }
  });
});

describe('workloads', () => {
  it('run commands sediment knows, or a script the image holds', () => {
    expect(ALL.length).toBeGreaterThan(0);
    for (const c of ALL) {
      if (c.command !== undefined) {
        expect(CLI_COMMANDS, `${c.file}: ${c.command}`).toContain(c.command);
        continue;
      }
      expect(c.argv[0], c.file).toBe('node');
      const copied = all(DOCKERFILES[c.dockerfile]!.final, 'COPY').some((i) =>
        i.args.endsWith(` ${c.argv[1]}`),
      );
      expect(copied, `${c.file}: ${c.argv[1]} is not copied into ${c.dockerfile}`).toBe(true);
    }
    expect(ALL.filter((c) => c.role).length).toBeGreaterThanOrEqual(3);
  });

  it('send the sample load to the acceptors’ Service on their OTLP/HTTP port', () => {
    const load = ALL.find((c) => c.argv[1]?.endsWith('/send-otlp.mjs'));
    expect(load, 'examples/load-job.yaml').toBeDefined();
    const url = new URL(load!.env.values.OTEL_EXPORTER_OTLP_ENDPOINT!);
    const svc = find('Service', url.hostname)!;
    expect(svc, `Service ${url.hostname}`).toBeDefined();
    const acceptor = deployment('sediment-acceptor');
    expect(selects(svc.spec.selector, acceptor.workload.spec.template.metadata.labels)).toBe(true);
    const port = svc.spec.ports.find((p: { port: number }) => p.port === Number(url.port));
    expect(resolvePort(acceptor.container, port.targetPort)).toBe(
      rolePorts('acceptor', acceptor.env.values).http,
    );
  });

  it('set only environment variables the code reads, with values it accepts', () => {
    for (const c of ALL) {
      expect(c.env.missingConfigMaps, c.file).toEqual([]);
      for (const name of Object.keys(c.env.sources)) {
        if (!SEDIMENT_VAR.test(name)) continue;
        expect(SETTINGS.has(name), `${c.file}: ${name} is not a Sediment setting`).toBe(true);
      }
      for (const [name, value] of Object.entries(c.env.values)) {
        if (!SEDIMENT_VAR.test(name)) continue;
        expect(
          () => effective(name, { [name]: value }),
          `${c.file}: ${name}=${value}`,
        ).not.toThrow();
      }
    }
    for (const cm of byKind('ConfigMap')) {
      for (const key of Object.keys(cm.object.data ?? {})) {
        expect(
          SETTINGS.has(key),
          `${cm.file}: ConfigMap ${cm.object.metadata.name} key ${key}`,
        ).toBe(true);
      }
    }
  });

  it('declare exactly the ports the process listens on, and probe its admin routes', () => {
    for (const c of ALL.filter((i) => i.role)) {
      const ports = rolePorts(c.role!, c.env.values);
      const declared = (c.container.ports ?? [])
        .map((p: { containerPort: number }) => p.containerPort)
        .sort();
      expect(declared, `${c.file}: ${c.container.name} ports`).toEqual(
        [...new Set(Object.values(ports))].sort(),
      );
      const probes = {
        livenessProbe: '/healthz',
        readinessProbe: '/readyz',
        startupProbe: '/healthz',
      } as const;
      for (const [probe, path] of Object.entries(probes)) {
        const p = c.container[probe];
        if (probe !== 'startupProbe') expect(p, `${c.file}: ${probe}`).toBeDefined();
        if (!p) continue;
        expect(p.httpGet.path, `${c.file}: ${probe}`).toBe(path);
        expect(resolvePort(c.container, p.httpGet.port), `${c.file}: ${probe} port`).toBe(
          ports.admin,
        );
        expect(p.httpGet.scheme ?? 'HTTP').toBe('HTTP');
      }
    }
  });

  it('run as the image’s non-root user, read-only, without capabilities, with /tmp writable', () => {
    for (const c of ALL) {
      const pod = c.workload.spec.template.spec;
      expect(pod.securityContext?.runAsNonRoot, c.file).toBe(true);
      expect(pod.securityContext?.runAsUser, c.file).toBe(10001);
      expect(pod.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
      expect(pod.automountServiceAccountToken).toBe(false);
      const sc = c.container.securityContext;
      expect(sc?.readOnlyRootFilesystem, c.file).toBe(true);
      expect(sc?.allowPrivilegeEscalation, c.file).toBe(false);
      expect(sc?.capabilities?.drop, c.file).toContain('ALL');
      expect(sc?.capabilities?.add ?? []).toEqual([]);
      const tmp = c.container.volumeMounts?.find(
        (m: { mountPath: string }) => m.mountPath === '/tmp',
      );
      expect(tmp, `${c.file}: /tmp mount`).toBeDefined();
      const volume = pod.volumes?.find((v: { name: string }) => v.name === tmp.name);
      expect(volume?.emptyDir, `${c.file}: /tmp is an emptyDir`).toBeDefined();
    }
  });

  it('request and limit CPU and memory (limit ≥ request)', () => {
    for (const c of ALL) {
      const r = c.container.resources;
      for (const k of ['cpu', 'memory']) {
        expect(r?.requests?.[k], `${c.file}: requests.${k}`).toBeDefined();
        if (k === 'memory' || c.role)
          expect(r?.limits?.[k], `${c.file}: limits.${k}`).toBeDefined();
        if (r?.limits?.[k])
          expect(quantity(r.limits[k])).toBeGreaterThanOrEqual(quantity(r.requests[k]));
      }
    }
  });

  it('give acceptors memory for their in-flight bound: limit ≥ 2 × SEDIMENT_MAX_INFLIGHT_BYTES + 150 MiB', () => {
    for (const c of ALL.filter((i) => i.role === 'acceptor')) {
      const inflight = effective('SEDIMENT_MAX_INFLIGHT_BYTES', c.env.values) as number;
      const limit = quantity(c.container.resources.limits.memory);
      expect(limit, c.file).toBeGreaterThanOrEqual(2 * inflight + 150 * 1024 ** 2);
    }
  });

  it('give the collector at least its round buffer plus the process, and more than ingest writers', () => {
    const collector = deployment('sediment-collector');
    const target = effective('SEDIMENT_TARGET_FILE_SIZE', collector.env.values) as number;
    const limit = quantity(collector.container.resources.limits.memory);
    expect(limit).toBeGreaterThanOrEqual(4 * target);
    expect(limit).toBeGreaterThan(
      quantity(deployment('sediment-writer').container.resources.limits.memory),
    );
  });
});

describe('acceptor', () => {
  const acceptor = deployment('sediment-acceptor');

  it('is a Deployment of 2+ acceptors, rolling with no loss of capacity', () => {
    expect(acceptor.role).toBe('acceptor');
    expect(acceptor.workload.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(acceptor.workload.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    expect(
      selects(
        acceptor.workload.spec.selector.matchLabels,
        acceptor.workload.spec.template.metadata.labels,
      ),
    ).toBe(true);
  });

  it('drains within its grace period (requests wait at most SEDIMENT_WRITER_TIMEOUT)', () => {
    const timeout = effective('SEDIMENT_WRITER_TIMEOUT', acceptor.env.values) as number;
    expect(
      acceptor.workload.spec.template.spec.terminationGracePeriodSeconds * 1000,
    ).toBeGreaterThanOrEqual(2 * timeout);
  });

  it('is behind a LoadBalancer with OTLP gRPC 4317 and HTTP 4318 going to the right container ports', () => {
    const svc = find('Service', 'sediment-acceptor')!;
    expect(svc.spec.type).toBe('LoadBalancer');
    expect(selects(svc.spec.selector, acceptor.workload.spec.template.metadata.labels)).toBe(true);
    const ports = rolePorts('acceptor', acceptor.env.values);
    const byPort = new Map(
      svc.spec.ports.map((p: { port: number; targetPort: string | number }) => [
        p.port,
        resolvePort(acceptor.container, p.targetPort),
      ]),
    );
    expect(byPort.get(4317)).toBe(ports.grpc);
    expect(byPort.get(4318)).toBe(ports.http);
    // The admin port (metrics) is not published through the load balancer when separate.
    if (ports.admin !== ports.http) expect([...byPort.values()]).not.toContain(ports.admin);
  });

  it('is scaled on CPU by an HPA and protected by a PodDisruptionBudget', () => {
    const hpa = byKind('HorizontalPodAutoscaler')[0]!.object;
    expect(hpa.spec.scaleTargetRef).toMatchObject({
      kind: 'Deployment',
      name: 'sediment-acceptor',
    });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec.metrics[0].resource.name).toBe('cpu');
    const pdb = find('PodDisruptionBudget', 'sediment-acceptor')!;
    expect(
      selects(pdb.spec.selector.matchLabels, acceptor.workload.spec.template.metadata.labels),
    ).toBe(true);
  });

  it('reaches the writers through the headless Service by DNS, on their Flight port', () => {
    const writers = effective('SEDIMENT_WRITERS', acceptor.env.values) as string[];
    expect(writers).toHaveLength(1);
    const m = /^dns:\/\/\/([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local:(\d+)$/.exec(writers[0]!);
    expect(m, writers[0]).not.toBeNull();
    const [, name, ns, port] = m!;
    expect(ns).toBe(NAMESPACE);
    const svc = find('Service', name!)!;
    expect(svc, `Service ${name}`).toBeDefined();
    expect(svc.spec.clusterIP).toBe('None');
    const svcPort = svc.spec.ports.find((p: { port: number }) => p.port === Number(port));
    expect(svcPort, `port ${port} on ${name}`).toBeDefined();
    // It selects exactly the ingest writers, whose Flight port the targetPort names.
    const selected = ALL.filter((c) =>
      selects(svc.spec.selector, c.workload.spec.template.metadata.labels),
    );
    expect(selected.map((c) => c.workload.metadata.name)).toEqual(['sediment-writer']);
    const writer = selected[0]!;
    expect(resolvePort(writer.container, svcPort.targetPort)).toBe(
      rolePorts('writer', writer.env.values).flight,
    );
  });
});

describe('writers and the collector', () => {
  const writer = deployment('sediment-writer');
  const collector = deployment('sediment-collector');

  it('ingest writers: 2 replicas, no collector', () => {
    expect(writer.role).toBe('writer');
    expect(writer.workload.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(effective('SEDIMENT_COLLECTOR', writer.env.values)).toBe(false);
  });

  it('the collector: one replica of the writer image, collector on, replaced with Recreate', () => {
    expect(collector.role).toBe('writer');
    expect(dockerfileOfImage(collector.container.image)).toBe('Dockerfile.writer');
    expect(collector.workload.spec.replicas).toBe(1);
    expect(collector.workload.spec.strategy.type).toBe('Recreate');
    expect(effective('SEDIMENT_COLLECTOR', collector.env.values)).toBe(true);
    // Exactly one workload runs a collector.
    const collectors = ALL.filter(
      (c) => c.role === 'writer' && effective('SEDIMENT_COLLECTOR', c.env.values) === true,
    );
    expect(collectors.map((c) => c.workload.metadata.name)).toEqual(['sediment-collector']);
    expect(
      collector.workload.spec.template.spec.terminationGracePeriodSeconds,
    ).toBeGreaterThanOrEqual(writer.workload.spec.template.spec.terminationGracePeriodSeconds);
  });

  it('share one store configuration', () => {
    for (const key of [
      'SEDIMENT_STORE',
      'S3_ENDPOINT',
      'AWS_REGION',
      'SEDIMENT_QUEUE_PREFIX',
      'SEDIMENT_LAKE_PREFIX',
    ]) {
      expect(writer.env.values[key], key).toBe(collector.env.values[key]);
    }
    expect(String(effective('SEDIMENT_STORE', writer.env.values))).toMatch(/^s3:\/\/[^/]+/);
    expect(writer.env.secretRefs).toEqual(collector.env.secretRefs);
  });

  it('accept the one Flight token the acceptors present, from a shared Secret', () => {
    const acceptor = deployment('sediment-acceptor');
    const token = acceptor.env.sources.SEDIMENT_WRITER_TOKEN;
    expect(token?.kind).toBe('secret');
    for (const w of [writer, collector])
      expect(w.env.sources.SEDIMENT_FLIGHT_TOKENS).toEqual(token);
  });

  it('have a disruption budget for ingest writers (none for the single collector)', () => {
    const pdbs = byKind('PodDisruptionBudget').map((p) => p.object);
    const forWriter = pdbs.filter((p) =>
      selects(p.spec.selector.matchLabels, writer.workload.spec.template.metadata.labels),
    );
    const forCollector = pdbs.filter((p) =>
      selects(p.spec.selector.matchLabels, collector.workload.spec.template.metadata.labels),
    );
    expect(forWriter).toHaveLength(1);
    expect(forCollector).toHaveLength(0);
  });

  it('admit Flight traffic from acceptors only (NetworkPolicy), admin from anywhere', () => {
    const policy = byKind('NetworkPolicy')[0]!.object;
    for (const w of [writer, collector]) {
      expect(selectsExpr(policy.spec.podSelector, w.workload.spec.template.metadata.labels)).toBe(
        true,
      );
    }
    expect(
      selectsExpr(
        policy.spec.podSelector,
        deployment('sediment-acceptor').workload.spec.template.metadata.labels,
      ),
    ).toBe(false);
    const ports = rolePorts('writer', writer.env.values);
    const flightRule = policy.spec.ingress.find((r: { ports: { port: number }[] }) =>
      r.ports.some((p) => p.port === ports.flight),
    );
    expect(flightRule.from).toHaveLength(1);
    expect(
      selectsExpr(
        flightRule.from[0].podSelector,
        deployment('sediment-acceptor').workload.spec.template.metadata.labels,
      ),
    ).toBe(true);
    const adminRule = policy.spec.ingress.find((r: { ports: { port: number }[] }) =>
      r.ports.some((p) => p.port === ports.admin),
    );
    expect(adminRule.from).toBeUndefined();
  });
});

describe('Secrets', () => {
  const documented = documentedSecrets();

  it('every Secret a workload uses is created by a command in deploy/README.md, with the keys used', () => {
    expect(documented.size).toBeGreaterThan(0);
    for (const c of ALL) {
      for (const [name, source] of Object.entries(c.env.sources)) {
        if (source.kind !== 'secret') continue;
        expect(
          documented.get(source.name)?.has(source.key),
          `${c.file}: ${name} ← ${source.name}/${source.key}`,
        ).toBe(true);
      }
      for (const ref of c.env.secretRefs) {
        const keys = documented.get(ref);
        expect(keys, `${c.file}: envFrom secret ${ref}`).toBeDefined();
        for (const key of keys!) {
          expect(SETTINGS.has(key), `${ref}: ${key} is not a Sediment setting`).toBe(true);
        }
      }
    }
  });

  it('credentials come only from Secrets, never from a ConfigMap or a literal', () => {
    const secretSettings = [...SETTINGS.values()].filter((s) => s.secret).map((s) => s.env);
    for (const c of ALL) {
      for (const name of secretSettings) {
        const source = c.env.sources[name];
        if (source) expect(source.kind, `${c.file}: ${name}`).toBe('secret');
      }
    }
    for (const cm of byKind('ConfigMap')) {
      for (const name of secretSettings)
        expect(cm.object.data?.[name], `${cm.file}: ${name}`).toBeUndefined();
    }
  });
});

describe('Prometheus annotations', () => {
  it('point at the port serving /metrics', () => {
    for (const c of ALL.filter((i) => i.role)) {
      const a = c.workload.spec.template.metadata.annotations ?? {};
      expect(a['prometheus.io/scrape'], c.file).toBe('true');
      expect(a['prometheus.io/path'] ?? '/metrics').toBe('/metrics');
      expect(Number(a['prometheus.io/port'])).toBe(rolePorts(c.role!, c.env.values).admin);
    }
  });
});
