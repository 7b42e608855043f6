/**
 * The local stack's processes: the Temporal dev server, moto and the Podman Docker API. Used by
 * the test harness (vitest global setup) and by `npm run dev`, so both run the same parts the same
 * way. Tools are installed by `bash scripts/stack.sh provision`, which records their paths in
 * `.sv0/stack.env`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SEARCH_ATTRIBUTE_TYPES } from '../lib/names';

export const REPO_ROOT = path.resolve(__dirname, '..');
export const STATE_DIR = path.join(REPO_ROOT, '.sv0');
const STACK_ENV = path.join(STATE_DIR, 'stack.env');

/** What `bash scripts/stack.sh provision <profile>` installs: `dev` for `npm run dev`, `test` for the test run. */
export type StackProfile = 'dev' | 'test';

/** Paths of the tools `npm run dev` needs, as `scripts/stack.sh provision dev` wrote them. */
export interface DevTools {
  temporalCli: string;
  motoServer: string;
  podman?: string;
  /** A Docker engine the user already had; when set, Podman is not started. */
  dockerHost?: string;
  connectorImage: string;
}

/** The production server's parts, built at the versions docker-compose.temporal.yml pins. */
export interface ProductionTools {
  temporalServer: string;
  temporalSqlTool: string;
  /** The Web UI server laid out as in its image: `ui-server` next to `config/docker.yaml`. */
  uiServerDir: string;
  /** PostgreSQL's bin directory (postgres, initdb, pg_isready, pg_dump). */
  postgresBinDir: string;
  /** tools/compose-check: the Compose file's reader. */
  composeCheck: string;
}

/** Paths of every provisioned tool the tests use, as `scripts/stack.sh provision test` wrote them. */
export interface StackTools extends DevTools {
  temporalTestServer: string;
  sops: string;
  age: string;
  ageKeygen: string;
  cfnLint?: string;
  chromium?: string;
  production: ProductionTools;
}

function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1');
  }
  return out;
}

/**
 * Run the provisioning command for a profile (idempotent, fast when everything is cached) and read
 * what it recorded. Fails with the command's own message when a tool cannot be had.
 */
export function provisionStack(opts: { profile: 'dev'; quiet?: boolean }): DevTools;
export function provisionStack(opts?: { profile?: 'test'; quiet?: boolean }): StackTools;
export function provisionStack(
  opts: { profile?: StackProfile; quiet?: boolean } = {},
): DevTools | StackTools {
  const profile = opts.profile ?? 'test';
  if (process.env.SV0_STACK_PROVISIONED !== '1' || !existsSync(STACK_ENV)) {
    const result = spawnSync('bash', [path.join(REPO_ROOT, 'scripts', 'stack.sh'), 'provision', profile], {
      cwd: REPO_ROOT,
      stdio: ['ignore', opts.quiet ? 'ignore' : 'inherit', 'inherit'],
    });
    if (result.status !== 0) {
      throw new Error(
        `bash scripts/stack.sh provision ${profile} failed (exit ${result.status}); see its message above`,
      );
    }
  }
  return profile === 'dev' ? readStackTools('dev') : readStackTools();
}

/** Read `.sv0/stack.env`; a missing key is named with the command that provides it. */
function readStackTools(profile: 'dev'): DevTools;
function readStackTools(profile?: 'test'): StackTools;
function readStackTools(profile: StackProfile = 'test'): DevTools | StackTools {
  if (!existsSync(STACK_ENV)) {
    throw new Error(`${STACK_ENV} is missing: run \`bash scripts/stack.sh provision ${profile}\` first`);
  }
  const env = parseEnvFile(readFileSync(STACK_ENV, 'utf8'));
  const need = (key: string): string => {
    const value = env[key];
    if (!value)
      throw new Error(`${STACK_ENV} has no ${key}: run \`bash scripts/stack.sh provision ${profile}\` again`);
    return value;
  };
  const dev: DevTools = {
    temporalCli: need('TEMPORAL_CLI_PATH'),
    motoServer: need('MOTO_SERVER_PATH'),
    podman: env.PODMAN_PATH || undefined,
    dockerHost: env.SV0_DOCKER_HOST || undefined,
    connectorImage: need('SV0_TEST_CONNECTOR_IMAGE'),
  };
  if (profile === 'dev') return dev;
  return {
    ...dev,
    temporalTestServer: need('TEMPORAL_TEST_SERVER_PATH'),
    sops: need('SOPS_PATH'),
    age: need('AGE_PATH'),
    ageKeygen: need('AGE_KEYGEN_PATH'),
    cfnLint: env.CFN_LINT_PATH || undefined,
    chromium: env.CHROMIUM_PATH || undefined,
    production: {
      temporalServer: need('TEMPORAL_SERVER_PATH'),
      temporalSqlTool: need('TEMPORAL_SQL_TOOL_PATH'),
      uiServerDir: need('TEMPORAL_UI_SERVER_DIR'),
      postgresBinDir: need('POSTGRES_BIN_DIR'),
      composeCheck: need('COMPOSE_CHECK_PATH'),
    },
  };
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Poll `check` until it answers true; fails when `child` exits first or the time runs out. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  child: ChildProcess,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode} while starting`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs / 1000}s`);
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function httpOk(options: { port?: number; socketPath?: string; path: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', ...options, method: 'GET', timeout: 2000 }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) < 500);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/** A started local process and how to stop it. */
export interface Running {
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Stops a child with `signal` (default SIGTERM), and SIGKILL after `graceMs` (default 5 s). */
export function stopper(
  child: ChildProcess,
  opts: { signal?: NodeJS.Signals; graceMs?: number } = {},
): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.graceMs ?? 5000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill(opts.signal ?? 'SIGTERM');
    });
}

export interface DevServer extends Running {
  address: string;
  uiPort?: number;
  namespace: string;
  dbFile?: string;
}

/**
 * Start the Temporal dev server with the project's search attributes registered. With `dbFile`
 * it persists across restarts (what `npm run dev` and the fault tests use); `uiPort` turns the Web
 * UI on.
 */
export async function startDevServer(
  tools: Pick<StackTools, 'temporalCli'>,
  opts: {
    port?: number;
    uiPort?: number;
    dbFile?: string;
    namespace?: string;
    logFile?: string;
    /** The codec server the Web UI decodes payloads with. */
    uiCodecEndpoint?: string;
  } = {},
): Promise<DevServer> {
  const port = opts.port ?? (await freePort());
  const namespace = opts.namespace ?? 'default';
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--namespace', namespace];
  args.push('--log-level', 'error');
  if (opts.uiPort) args.push('--ui-port', String(opts.uiPort));
  else args.push('--headless');
  if (opts.uiCodecEndpoint) args.push('--ui-codec-endpoint', opts.uiCodecEndpoint);
  if (opts.dbFile) {
    mkdirSync(path.dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile);
  }
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_TYPES))
    args.push('--search-attribute', `${name}=${type}`);
  // Schedules and timers in tests run on seconds; the dev server's defaults suit that already.
  const child = spawn(tools.temporalCli, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  try {
    await waitFor('the Temporal dev server', () => tcpOpen(port), child, 60_000);
    if (opts.uiPort)
      await waitFor('the Temporal Web UI', () => httpOk({ port: opts.uiPort, path: '/' }), child, 60_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
  return {
    child,
    stop: stopper(child),
    address: `127.0.0.1:${port}`,
    uiPort: opts.uiPort,
    namespace,
    dbFile: opts.dbFile,
  };
}

export interface Moto extends Running {
  endpoint: string;
  port: number;
}

/**
 * Start moto in server mode on a free (or given) port of 127.0.0.1. `loadManagedPolicies` loads
 * AWS managed policies into IAM (without them moto refuses to attach SecurityAudit or
 * AdministratorAccess, which the org bootstrap's roles need); it makes moto slower to start.
 */
export async function startMoto(
  tools: Pick<StackTools, 'motoServer'>,
  opts: { port?: number; loadManagedPolicies?: boolean } = {},
): Promise<Moto> {
  const port = opts.port ?? (await freePort());
  const managed = opts.loadManagedPolicies ? { MOTO_IAM_LOAD_MANAGED_POLICIES: 'true' } : {};
  const child = spawn(tools.motoServer, ['-H', '127.0.0.1', '-p', String(port)], {
    env: { ...process.env, ...managed },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  try {
    await waitFor('moto', () => httpOk({ port, path: '/moto-api/' }), child, 60_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
  return { child, stop: stopper(child), endpoint: `http://127.0.0.1:${port}`, port };
}

export interface DockerApi extends Partial<Running> {
  /** `unix:///path` or `tcp://host:port`, as DOCKER_HOST takes it. */
  dockerHost: string;
  socketPath?: string;
}

/**
 * The Docker Engine API: the user's own engine when provisioning found one, else Podman's
 * compatible service on a socket under `.sv0/`.
 */
export async function startDockerApi(
  tools: Pick<StackTools, 'podman' | 'dockerHost'>,
  name = 'podman',
): Promise<DockerApi> {
  if (tools.dockerHost) {
    const socketPath = tools.dockerHost.startsWith('unix://') ? tools.dockerHost.slice(7) : undefined;
    return { dockerHost: tools.dockerHost, socketPath };
  }
  if (!tools.podman)
    throw new Error('no container engine: run `bash scripts/stack.sh provision` to install Podman');
  mkdirSync(STATE_DIR, { recursive: true });
  // A unix socket path is limited to about 108 bytes: a deep checkout falls back to /tmp.
  let socketPath = path.join(STATE_DIR, `${name}-${process.pid}.sock`);
  if (socketPath.length > 100) socketPath = path.join(tmpdir(), `sv0-${name}-${process.pid}.sock`);
  rmSync(socketPath, { force: true });
  const child = spawn(tools.podman, ['system', 'service', '--time=0', `unix://${socketPath}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  try {
    await waitFor('the Podman API', () => httpOk({ socketPath, path: '/_ping' }), child, 30_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
  const stop = stopper(child);
  return {
    child,
    dockerHost: `unix://${socketPath}`,
    socketPath,
    stop: async () => {
      await stop();
      rmSync(socketPath, { force: true });
    },
  };
}
