/**
 * What the deployment checks compare against: the repository's files and the settings,
 * commands and ports as the code defines them (never a copy of them in the tests).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALL_SETTINGS, USAGE } from '@sediment/cli';
import type { Setting } from '@sediment/config';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export function readRepo(rel: string): string {
  return readFileSync(path.join(REPO, rel), 'utf8');
}

export function repoFileExists(rel: string): boolean {
  const p = path.join(REPO, rel);
  return existsSync(p) && statSync(p).isFile();
}

/** Every file under `dir` (relative to the repository), recursively, sorted. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(path.join(REPO, rel), { withFileTypes: true })) {
      const child = path.posix.join(rel, entry.name);
      if (entry.isDirectory()) walk(child);
      else out.push(child);
    }
  };
  walk(dir);
  return out.sort();
}

// ---- settings ---------------------------------------------------------------------------

type AnySetting = Setting<unknown>;

/** The code's settings by environment variable name. */
export const SETTINGS: ReadonlyMap<string, AnySetting> = new Map(
  Object.values(ALL_SETTINGS).map((s) => [s.env, s as AnySetting]),
);

/** Names a deployment file may set that Sediment reads: checked against SETTINGS. */
export const SEDIMENT_VAR = /^(SEDIMENT_|S3_|AWS_)/;

/**
 * The value the process will use for `name` given `env`: the parsed value when set and
 * non-empty (an empty variable counts as unset, as in the code), else the default.
 * Throws when the code would reject the value.
 */
export function effective(
  name: string,
  env: Readonly<Record<string, string | undefined>>,
): unknown {
  const setting = SETTINGS.get(name);
  if (!setting) throw new Error(`${name} is not a Sediment setting`);
  const raw = env[name];
  if (raw === undefined || raw === '') return setting.default;
  return setting.parse(raw);
}

/** The commands `sediment` knows, read from its usage text. */
export const CLI_COMMANDS: readonly string[] = (() => {
  const section = USAGE.split(/^Commands:$/m)[1] ?? '';
  const names = [...section.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1]!);
  if (names.length === 0) throw new Error('no commands found in the sediment usage text');
  return names;
})();

export type Role = 'acceptor' | 'writer';

/** The ports a process of `role` listens on, by purpose, given its environment. */
export function rolePorts(
  role: Role,
  env: Readonly<Record<string, string | undefined>>,
): Record<string, number> {
  if (role === 'acceptor') {
    const http = effective('SEDIMENT_HTTP_PORT', env) as number;
    const admin = (effective('SEDIMENT_ADMIN_PORT', env) as number | undefined) ?? http;
    return { grpc: effective('SEDIMENT_GRPC_PORT', env) as number, http, admin };
  }
  return {
    flight: effective('SEDIMENT_FLIGHT_PORT', env) as number,
    admin: effective('SEDIMENT_WRITER_ADMIN_PORT', env) as number,
  };
}

/** The role of a `sediment <command>` invocation that runs a service (undefined for jobs). */
export function roleOf(command: string | undefined): Role | undefined {
  return command === 'acceptor' || command === 'writer' ? command : undefined;
}

/** Image names: Dockerfile.<x> builds sediment/<x>. */
export const IMAGE_OF_DOCKERFILE: Readonly<Record<string, string>> = {
  'Dockerfile.acceptor': 'sediment/acceptor',
  'Dockerfile.writer': 'sediment/writer',
};

export const ROOT_PACKAGE = JSON.parse(readRepo('package.json')) as {
  version: string;
  engines: { node: string };
};

/** "repo:tag" → [repo, tag]; tag undefined when absent. Digests are kept with the tag. */
export function splitImage(image: string): [string, string | undefined] {
  const at = image.indexOf('@');
  const ref = at >= 0 ? image.slice(0, at) : image;
  const colon = ref.lastIndexOf(':');
  if (colon > ref.lastIndexOf('/'))
    return [ref.slice(0, colon), ref.slice(colon + 1) + (at >= 0 ? image.slice(at) : '')];
  return [ref, at >= 0 ? image.slice(at) : undefined];
}

/** Kubernetes quantities: "500m" CPU, "512Mi" memory → numbers (cores, bytes). */
export function quantity(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = /^(\d+(?:\.\d+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(q);
  if (!m) throw new Error(`not a quantity: ${q}`);
  const scale: Record<string, number> = {
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
  };
  return Number(m[1]) * (m[2] ? scale[m[2]]! : 1);
}
