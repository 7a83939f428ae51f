/**
 * Readers for docker-compose.yml and the Kubernetes manifests, plus the few
 * resolutions the checks need (a container's environment from env + envFrom, a
 * port name to its number, compose ports and environment in their short and long
 * forms).
 */
import { parse, parseAllDocuments } from 'yaml';
import { type Dockerfile, execForm, parseDockerfile } from './dockerfile.js';
import { IMAGE_OF_DOCKERFILE, listFiles, readRepo, splitImage } from './repo.js';

// ---- Dockerfiles --------------------------------------------------------------------------

export const DOCKERFILES: Readonly<Record<string, Dockerfile>> = Object.fromEntries(
  Object.keys(IMAGE_OF_DOCKERFILE).map((f) => [f, parseDockerfile(readRepo(f))]),
);

/** The Dockerfile that builds an image name (`sediment/writer:0.1.0` → Dockerfile.writer). */
export function dockerfileOfImage(image: string): string | undefined {
  const [repo] = splitImage(image);
  return Object.entries(IMAGE_OF_DOCKERFILE).find(([, name]) => name === repo)?.[0];
}

/**
 * `node [flags…] <script> [args…]` taken apart (flags: the `-`-prefixed words before the
 * script); undefined when `argv` is not a node command.
 */
export function splitNodeArgv(
  argv: readonly string[] | undefined,
): { flags: string[]; script: string; args: string[] } | undefined {
  if (argv?.[0] !== 'node') return undefined;
  let i = 1;
  while (i < argv.length && argv[i]!.startsWith('-')) i++;
  if (i >= argv.length) return undefined;
  return { flags: argv.slice(1, i), script: argv[i]!, args: argv.slice(i + 1) };
}

/** ENTRYPOINT and CMD of an image built here, in exec form. */
export function imageEntry(dockerfile: string): { entrypoint: string[]; cmd: string[] } {
  const final = DOCKERFILES[dockerfile]!.final;
  const get = (k: string) => {
    const ins = final.instructions.filter((i) => i.keyword === k).at(-1);
    if (!ins) return [];
    const exec = execForm(ins.args);
    if (!exec) throw new Error(`${dockerfile}: ${k} is in shell form`);
    return exec;
  };
  return { entrypoint: get('ENTRYPOINT'), cmd: get('CMD') };
}

// ---- compose -----------------------------------------------------------------------------

export interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | number | { target: number; published?: string | number })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  volumes?: (string | { type: string; source?: string; target: string })[];
  restart?: string;
  profiles?: string[];
  stop_grace_period?: string;
  working_dir?: string;
}

export interface Compose {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

export function loadCompose(): Compose {
  return parse(readRepo('docker-compose.yml'), { merge: true }) as Compose;
}

/** A service's environment as a map (compose accepts a map or a KEY=value list). */
export function composeEnv(service: ComposeService): Record<string, string> {
  const env = service.environment;
  if (env === undefined) return {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((kv) => {
        const eq = kv.indexOf('=');
        return eq < 0 ? [kv, ''] : [kv.slice(0, eq), kv.slice(eq + 1)];
      }),
    );
  }
  return Object.fromEntries(
    Object.entries(env).map(([k, v]) => [k, v === null || v === undefined ? '' : String(v)]),
  );
}

/** The container ports a service publishes. */
export function composeContainerPorts(service: ComposeService): number[] {
  return (service.ports ?? []).map((p) => {
    if (typeof p === 'number') return p;
    if (typeof p === 'object') return Number(p.target);
    // [ip:][host:]container[/proto]
    const noProto = p.split('/')[0]!;
    return Number(noProto.split(':').at(-1));
  });
}

export function composeDependsOn(service: ComposeService): Record<string, string> {
  const d = service.depends_on;
  if (d === undefined) return {};
  if (Array.isArray(d)) return Object.fromEntries(d.map((n) => [n, 'service_started']));
  return Object.fromEntries(
    Object.entries(d).map(([n, v]) => [n, v.condition ?? 'service_started']),
  );
}

export function asList(v: string | string[] | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v : v.trim().split(/\s+/);
}

/** The Dockerfile of a compose service: its build section, else its image name. */
export function composeDockerfile(service: ComposeService): string | undefined {
  if (service.build !== undefined) {
    return typeof service.build === 'string'
      ? 'Dockerfile'
      : (service.build.dockerfile ?? 'Dockerfile');
  }
  return service.image ? dockerfileOfImage(service.image) : undefined;
}

/** What a compose service runs: entrypoint + command, each defaulting to the image's. */
export function composeArgv(service: ComposeService): string[] | undefined {
  const dockerfile = composeDockerfile(service);
  const image = dockerfile && DOCKERFILES[dockerfile] ? imageEntry(dockerfile) : undefined;
  const entrypoint = asList(service.entrypoint) ?? image?.entrypoint;
  // An entrypoint set in compose drops the image's CMD.
  const command = asList(service.command) ?? (service.entrypoint === undefined ? image?.cmd : []);
  if (entrypoint === undefined) return undefined;
  return [...entrypoint, ...(command ?? [])];
}

// ---- Kubernetes ----------------------------------------------------------------------------

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are checked field by field
  spec?: any;
  data?: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: as above
  [key: string]: any;
}

export interface LoadedObject {
  readonly file: string;
  readonly object: K8sObject;
}

export const K8S_DIR = 'deploy/kubernetes';

/** Every YAML document under deploy/kubernetes (kustomization.yaml excluded). */
export function loadKubernetes(): LoadedObject[] {
  const out: LoadedObject[] = [];
  for (const file of listFiles(K8S_DIR)) {
    if (!/\.ya?ml$/.test(file) || file.endsWith('/kustomization.yaml')) continue;
    for (const doc of parseAllDocuments(readRepo(file))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      const object = doc.toJS() as K8sObject | null;
      if (object !== null) out.push({ file, object });
    }
  }
  return out;
}

export interface Kustomization {
  namespace?: string;
  resources: string[];
  images?: { name: string; newName?: string; newTag?: string }[];
}

export function loadKustomization(): Kustomization {
  return parse(readRepo(`${K8S_DIR}/kustomization.yaml`)) as Kustomization;
}

export type EnvSource =
  | { kind: 'value'; value: string }
  | { kind: 'secret'; name: string; key: string }
  | { kind: 'configMapKey'; name: string; key: string }
  | { kind: 'field' };

export interface ResolvedEnv {
  /** Literal values (from env values and ConfigMaps), what the process will see. */
  readonly values: Record<string, string>;
  /** Where each variable comes from. */
  readonly sources: Record<string, EnvSource>;
  /** Secrets pulled in whole through envFrom. */
  readonly secretRefs: string[];
  /** ConfigMaps named but not found among the manifests. */
  readonly missingConfigMaps: string[];
}

/** A container's environment: envFrom in order, then env (which wins), as the kubelet does. */
export function containerEnv(
  // biome-ignore lint/suspicious/noExplicitAny: a container spec
  container: any,
  objects: readonly LoadedObject[],
  namespace: string,
): ResolvedEnv {
  const values: Record<string, string> = {};
  const sources: Record<string, EnvSource> = {};
  const secretRefs: string[] = [];
  const missingConfigMaps: string[] = [];
  const configMap = (name: string) =>
    objects.find(
      (o) =>
        o.object.kind === 'ConfigMap' &&
        o.object.metadata.name === name &&
        (o.object.metadata.namespace ?? namespace) === namespace,
    )?.object;
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) {
      const cm = configMap(from.configMapRef.name);
      if (!cm) {
        missingConfigMaps.push(from.configMapRef.name);
        continue;
      }
      for (const [k, v] of Object.entries(cm.data ?? {})) {
        const key = `${from.prefix ?? ''}${k}`;
        values[key] = String(v);
        sources[key] = { kind: 'value', value: String(v) };
      }
    } else if (from.secretRef) {
      secretRefs.push(from.secretRef.name);
    }
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) {
      values[e.name] = String(e.value);
      sources[e.name] = { kind: 'value', value: String(e.value) };
    } else if (e.valueFrom?.secretKeyRef) {
      delete values[e.name];
      sources[e.name] = {
        kind: 'secret',
        name: e.valueFrom.secretKeyRef.name,
        key: e.valueFrom.secretKeyRef.key,
      };
    } else if (e.valueFrom?.configMapKeyRef) {
      const ref = e.valueFrom.configMapKeyRef;
      const cm = configMap(ref.name);
      if (!cm) missingConfigMaps.push(ref.name);
      const v = cm?.data?.[ref.key];
      if (v !== undefined) values[e.name] = String(v);
      sources[e.name] = { kind: 'configMapKey', name: ref.name, key: ref.key };
    } else {
      sources[e.name] = { kind: 'field' };
    }
  }
  return { values, sources, secretRefs, missingConfigMaps };
}

/** A probe's or Service's port (name or number) → the container port number. */
export function resolvePort(
  // biome-ignore lint/suspicious/noExplicitAny: a container spec
  container: any,
  port: string | number,
): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  // biome-ignore lint/suspicious/noExplicitAny: container ports
  return container.ports?.find((p: any) => p.name === port)?.containerPort;
}

/** Whether a label selector (matchLabels) selects these labels. */
export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** Whether a selector with matchLabels and matchExpressions selects these labels. */
export function selectsExpr(
  // biome-ignore lint/suspicious/noExplicitAny: a LabelSelector
  selector: any,
  labels: Record<string, string> | undefined,
): boolean {
  const l = labels ?? {};
  const okLabels = Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => l[k] === v);
  // biome-ignore lint/suspicious/noExplicitAny: a LabelSelectorRequirement
  const okExpr = (selector?.matchExpressions ?? []).every((e: any) => {
    switch (e.operator) {
      case 'In':
        return e.values.includes(l[e.key]);
      case 'NotIn':
        return !e.values.includes(l[e.key]);
      case 'Exists':
        return e.key in l;
      case 'DoesNotExist':
        return !(e.key in l);
      default:
        throw new Error(`unknown selector operator ${e.operator}`);
    }
  });
  return okLabels && okExpr;
}

/** Workloads (Deployments, Jobs) with their pod template. */
export function workloads(objects: readonly LoadedObject[]): LoadedObject[] {
  return objects.filter((o) =>
    ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(o.object.kind),
  );
}
