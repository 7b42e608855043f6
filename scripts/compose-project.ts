/**
 * docker-compose.temporal.yml as `docker compose` reads it, and its services turned into local
 * processes. The file is read by compose-check (tools/compose-check, on compose-go, the reference
 * reader of the Compose specification), which prints the resolved project: environment after
 * interpolation, entrypoints, commands, absolute bind-mount sources. The local production stack
 * (scripts/prod-stack.ts) runs each service by exactly that entrypoint, command and environment;
 * the only differences are the addresses and ports of {@link localOverrides}, so that the stack
 * runs on 127.0.0.1 next to others on one machine.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './local-stack';

export const COMPOSE_FILE = path.join(REPO_ROOT, 'docker-compose.temporal.yml');

/**
 * Mutual TLS is switched on in the compose file by removing this prefix from its lines (README,
 * "Mutual TLS": `sed -i 's/# mTLS[:] //' docker-compose.temporal.yml`).
 */
export const MTLS_PREFIX = '# mTLS: ';
/** Where the services with mutual TLS switched on find the certificates (a read-only mount). */
export const MTLS_CERTIFICATES = '/etc/sv0/temporal-tls';

/** The compose file's text, with mutual TLS switched on as the README says when `mtls` is set. */
export function composeText(opts: { mtls?: boolean } = {}): string {
  const text = readFileSync(COMPOSE_FILE, 'utf8');
  return opts.mtls ? text.split(MTLS_PREFIX).join('') : text;
}

/** The parts of a resolved compose service the local stack and the tests read. */
export interface ComposeService {
  image?: string;
  entrypoint?: string[] | null;
  command?: string[] | null;
  environment?: Record<string, string | null>;
  working_dir?: string;
  volumes?: { type: string; source?: string; target: string; read_only?: boolean }[];
  healthcheck?: { test?: string[]; disable?: boolean };
  restart?: string;
  depends_on?: Record<string, { condition: string }>;
  env_file?: { path: string; required?: boolean }[];
  secrets?: { source: string; target?: string }[];
  group_add?: string[];
  user?: string;
  profiles?: string[];
  /** As compose-go writes durations: `2m30s`. */
  stop_grace_period?: string;
}

export interface ComposeProject {
  name: string;
  services: Record<string, ComposeService>;
  secrets?: Record<string, { file?: string; environment?: string }>;
}

/**
 * Read the compose file through compose-check. `env` is the environment compose would run in (the
 * file requires POSTGRES_PASSWORD); nothing else of this process's environment is passed. With
 * `mtls`, the file is read with mutual TLS switched on ({@link composeText}): compose-check reads
 * that text from a folder of its own, and the paths it resolves there are this checkout's.
 */
export function readComposeProject(
  composeCheck: string,
  env: Record<string, string>,
  opts: { mtls?: boolean } = {},
): ComposeProject {
  const dir = opts.mtls ? mkdtempSync(path.join(tmpdir(), 'sv0-compose-')) : undefined;
  const file = dir ? path.join(dir, path.basename(COMPOSE_FILE)) : COMPOSE_FILE;
  try {
    if (dir) writeFileSync(file, composeText({ mtls: true }));
    const result = spawnSync(composeCheck, ['-f', file, '--json'], {
      cwd: dir ?? REPO_ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      encoding: 'utf8',
    });
    if (result.status !== 0)
      throw new Error(
        `compose-check could not read ${COMPOSE_FILE}${dir ? ' (mutual TLS switched on)' : ''}: ${result.stderr.trim() || result.error}`,
      );
    const json = dir ? result.stdout.split(JSON.stringify(dir).slice(1, -1)).join(REPO_ROOT) : result.stdout;
    return JSON.parse(json) as ComposeProject;
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** Seconds of a duration as compose-go writes it (`2m30s`) or as the worker reads one (`2 minutes`). */
export function durationSeconds(text: string): number {
  const parts = [...text.matchAll(/(\d+)\s*(hours?|minutes?|seconds?|h|m|s)/g)];
  if (parts.length === 0) throw new Error(`cannot read the duration ${text}`);
  const unit = { h: 3600, m: 60, s: 1 } as const;
  return parts.reduce((sum, m) => sum + Number(m[1]) * unit[m[2]![0] as keyof typeof unit], 0);
}

/** The ports a local production stack listens on (all on 127.0.0.1). */
export interface ProductionPorts {
  postgres: number;
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
  ui: number;
}

/**
 * What the local stack sets on top of each service's compose environment: addresses and ports
 * only. Hosts named after compose services become 127.0.0.1, and every port is a free one (the
 * server's ports are variables of deploy/temporal/config/production.yaml with the compose defaults).
 */
export function localOverrides(ports: ProductionPorts): Record<string, Record<string, string>> {
  const frontend = `127.0.0.1:${ports.frontend}`;
  return {
    // For its health check (pg_isready); PostgreSQL itself is started from Debian's binaries.
    postgresql: { PGHOST: '127.0.0.1', PGPORT: String(ports.postgres) },
    'temporal-schema': { SQL_HOST: '127.0.0.1', SQL_PORT: String(ports.postgres) },
    temporal: {
      POSTGRES_SEEDS: '127.0.0.1',
      DB_PORT: String(ports.postgres),
      BIND_ON_IP: '127.0.0.1',
      FRONTEND_GRPC_PORT: String(ports.frontend),
      FRONTEND_HTTP_PORT: String(ports.frontendHttp),
      FRONTEND_MEMBERSHIP_PORT: String(ports.frontendMembership),
      HISTORY_GRPC_PORT: String(ports.history),
      HISTORY_MEMBERSHIP_PORT: String(ports.historyMembership),
      MATCHING_GRPC_PORT: String(ports.matching),
      MATCHING_MEMBERSHIP_PORT: String(ports.matchingMembership),
      WORKER_GRPC_PORT: String(ports.worker),
      WORKER_MEMBERSHIP_PORT: String(ports.workerMembership),
      TEMPORAL_ADDRESS: frontend,
    },
    'temporal-admin': { TEMPORAL_ADDRESS: frontend },
    'temporal-ui': { TEMPORAL_ADDRESS: frontend, TEMPORAL_UI_PORT: String(ports.ui) },
  };
}

/** A compose service as a local process: the argv, working directory and environment to run. */
export interface LocalService {
  name: string;
  /** The entrypoint and command; empty when the file relies on the image's (PostgreSQL's). */
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  /** The service's health check as a command (CMD or CMD-SHELL), with the same environment. */
  healthcheck?: string[];
  /** Re-run when it exits non-zero (compose `restart: on-failure`). */
  retryOnFailure: boolean;
}

export interface PlanContext {
  /** Directories that stand for paths inside an image, e.g. the UI image's /home/ui-server. */
  imageDirs: Record<string, string>;
  /** Directories put first on PATH: where the service's executables are found. */
  path: string[];
  /** HOME for the processes (the temporal CLI reads its config profile there). */
  home: string;
  overrides: Record<string, Record<string, string>>;
  /**
   * Local folders that stand for a bind mount's source on the VM, by the mount's target (the
   * test's certificates for {@link MTLS_CERTIFICATES}). A service's environment value that is a
   * path under such a target becomes the local path.
   */
  mounts?: Record<string, string>;
}

/**
 * A container path on the host: through the service's bind mounts (the longest target that
 * contains it), else through `imageDirs`.
 */
export function hostPath(
  service: ComposeService,
  containerPath: string,
  imageDirs: Record<string, string>,
  mounts: Record<string, string> = {},
): string {
  const inside = (target: string) => containerPath === target || containerPath.startsWith(`${target}/`);
  const mount = (service.volumes ?? [])
    .filter((v) => v.type === 'bind' && v.source && inside(v.target))
    .sort((a, b) => b.target.length - a.target.length)[0];
  if (mount)
    return path.join(mounts[mount.target] ?? mount.source!, path.relative(mount.target, containerPath));
  const dir = Object.keys(imageDirs)
    .filter(inside)
    .sort((a, b) => b.length - a.length)[0];
  if (dir) return path.join(imageDirs[dir]!, path.relative(dir, containerPath));
  throw new Error(`${containerPath} is neither bind-mounted nor provided locally`);
}

/** The health check of a compose service as a command to run, if it has one. */
export function healthcheckCommand(service: ComposeService): string[] | undefined {
  const test = service.healthcheck?.disable ? undefined : service.healthcheck?.test;
  if (!test?.length || test[0] === 'NONE') return undefined;
  if (test[0] === 'CMD-SHELL') return ['/bin/sh', '-c', test.slice(1).join(' ')];
  return test[0] === 'CMD' ? test.slice(1) : test;
}

/** Plan one service of the project as a local process. */
export function planService(project: ComposeProject, name: string, ctx: PlanContext): LocalService {
  const service = project.services[name];
  if (!service) throw new Error(`docker-compose.temporal.yml has no service ${name}`);
  const argv = [...(service.entrypoint ?? []), ...(service.command ?? [])];
  const mounted = (value: string) =>
    Object.keys(ctx.mounts ?? {}).some((target) => value.startsWith(`${target}/`));
  const compose = Object.fromEntries(
    Object.entries(service.environment ?? {})
      .filter((e): e is [string, string] => e[1] !== null)
      .map(([key, value]) => [
        key,
        mounted(value) ? hostPath(service, value, ctx.imageDirs, ctx.mounts) : value,
      ]),
  );
  const env = {
    PATH: [...ctx.path, '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'].join(':'),
    HOME: ctx.home,
    ...compose,
    ...ctx.overrides[name],
  };
  return {
    name,
    argv,
    cwd: service.working_dir ? hostPath(service, service.working_dir, ctx.imageDirs) : ctx.home,
    env,
    healthcheck: healthcheckCommand(service),
    retryOnFailure: service.restart === 'on-failure',
  };
}
