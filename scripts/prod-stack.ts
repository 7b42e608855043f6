/**
 * The production topology of docker-compose.temporal.yml on this machine: PostgreSQL, the schema
 * job, the PostgreSQL-backed Temporal server, the namespace and search-attribute job and the Web UI
 * server, each started by the compose file's own entrypoint, command, environment and health check
 * (scripts/compose-project.ts) against the binaries `bash scripts/stack.sh provision` built at the
 * versions the file pins. PostgreSQL is Debian's, at the major version the file pins, initialised
 * with the file's user and password as its image does. Used by the deployment tests and by hand:
 *
 *   npx tsx scripts/prod-stack.ts      start it, print the addresses, stop on Ctrl-C
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  localOverrides,
  MTLS_CERTIFICATES,
  planService,
  readComposeProject,
  type ComposeProject,
  type LocalService,
  type ProductionPorts,
} from './compose-project';
import { provisionStack, stopper, waitFor, type ProductionTools, type StackTools } from './local-stack';

/** A long-running part that can be stopped and started again (restart and kill tests). */
export interface StackPart {
  readonly child: ChildProcess | undefined;
  start(): Promise<void>;
  /** Stop gracefully (SIGKILL after a grace time); `kill` sends SIGKILL at once. */
  stop(opts?: { kill?: boolean }): Promise<void>;
}

/** PostgreSQL, which can also start over on an empty data directory (a restore's fresh server). */
export interface PostgresPart extends StackPart {
  /** Stop it and delete its data: the next `start()` initialises an empty cluster, as a new VM would. */
  wipe(): Promise<void>;
}

export interface ProductionStack {
  project: ComposeProject;
  ports: ProductionPorts;
  /** The Temporal frontend, host:port. */
  address: string;
  namespace: string;
  uiUrl: string;
  /** POSTGRES_PASSWORD the compose file was read with (made up per stack). */
  postgresPassword: string;
  /** Where the data and each service's log (logs/<service>.log) live. */
  dir: string;
  postgres: PostgresPart;
  temporal: StackPart;
  ui: StackPart;
  /** Run a one-shot job of the file again (temporal-schema, temporal-admin); resolves with its output. */
  runJob(name: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Mutual TLS on the frontend and between the server's services, as the compose file switches it
 * on: `dir` holds the files its `# mTLS:` lines name under /etc/sv0/temporal-tls (ca.pem,
 * server.pem and server.key with serverAuth and clientAuth, client.pem and client.key), with the
 * name `temporal` in the server's certificate.
 */
export interface StackTls {
  dir: string;
}

/** Services the local stack runs, in the order of the file's depends_on conditions. */
const RUN_ORDER = ['postgresql', 'temporal-schema', 'temporal', 'temporal-admin', 'temporal-ui'] as const;

/** Free TCP ports below 32768: Temporal stores membership ports as smallint. */
async function freeLowPorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) {
    const port = 20000 + Math.floor(Math.random() * 12768);
    if (ports.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, () => server.close(() => resolve(true)));
    });
    if (free) ports.add(port);
  }
  return [...ports];
}

export async function freeProductionPorts(): Promise<ProductionPorts> {
  const [
    postgres,
    frontend,
    frontendHttp,
    frontendMembership,
    history,
    historyMembership,
    matching,
    ...rest
  ] = await freeLowPorts(11);
  const [matchingMembership, worker, workerMembership, ui] = rest;
  return {
    postgres: postgres!,
    frontend: frontend!,
    frontendHttp: frontendHttp!,
    frontendMembership: frontendMembership!,
    history: history!,
    historyMembership: historyMembership!,
    matching: matching!,
    matchingMembership: matchingMembership!,
    worker: worker!,
    workerMembership: workerMembership!,
    ui: ui!,
  };
}

/** As root, PostgreSQL runs as the postgres user (initdb and postgres refuse root). */
function asPostgresUser(argv: string[]): string[] {
  return process.getuid?.() === 0
    ? ['setpriv', '--reuid=postgres', '--regid=postgres', '--init-groups', '--', ...argv]
    : argv;
}

function postgresIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('no postgres user: install PostgreSQL with `bash scripts/stack.sh provision`');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Run a command to its end with its output appended to `log`; resolves with exit code and output. */
function runToEnd(
  argv: string[],
  opts: { cwd?: string; env?: Record<string, string>; log: string },
): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const log = createWriteStream(opts.log, { flags: 'a' });
    const take = (d: Buffer) => {
      output = (output + d.toString()).slice(-8000);
      log.write(d);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.once('error', reject);
    child.once('close', (code) => {
      log.end();
      resolve({ code: code ?? 1, output });
    });
  });
}

function lastLines(text: string, n = 15): string {
  return text.trim().split('\n').slice(-n).join('\n');
}

/** A long-running process of the stack, restartable, with its health check as readiness. */
function longRunning(
  what: string,
  plan: () => { argv: string[]; cwd?: string; env: Record<string, string> },
  health: () => Promise<boolean>,
  opts: { log: string; stopSignal?: NodeJS.Signals; graceMs?: number; readyMs?: number },
): StackPart {
  let child: ChildProcess | undefined;
  return {
    get child() {
      return child;
    },
    async start() {
      const { argv, cwd, env } = plan();
      if (argv.length === 0)
        throw new Error(`${what}: the compose file gives no entrypoint or command to run`);
      const log = createWriteStream(opts.log, { flags: 'a' });
      child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout?.pipe(log);
      child.stderr?.pipe(log);
      try {
        await waitFor(what, health, child, opts.readyMs ?? 120_000);
      } catch (err) {
        await stopper(child, { graceMs: 1000 })();
        throw new Error(
          `${(err as Error).message}; last lines of ${opts.log}:\n${lastLines(readFileSync(opts.log, 'utf8'))}`,
        );
      }
    },
    async stop({ kill = false } = {}) {
      if (!child) return;
      if (kill) child.kill('SIGKILL');
      await stopper(child, { signal: opts.stopSignal, graceMs: opts.graceMs })();
    },
  };
}

/**
 * Start the production stack. `tools` default to what `provisionStack()` installs; `dir` (made
 * under the system's temp dir when absent) keeps the database and the logs, and is removed by
 * `stop()` unless `keep` is set.
 */
export async function startProductionStack(
  opts: { tools?: StackTools; dir?: string; keep?: boolean; tls?: StackTls } = {},
): Promise<ProductionStack> {
  const tools = opts.tools ?? provisionStack();
  const dir = opts.dir ?? mkdtempSync(path.join(tmpdir(), 'sv0-prod-'));
  try {
    return await startIn(dir, tools, opts.keep ?? false, opts.tls);
  } catch (err) {
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

async function startIn(
  dir: string,
  tools: StackTools,
  keep: boolean,
  tls: StackTls | undefined,
): Promise<ProductionStack> {
  const production: ProductionTools = tools.production;
  // PostgreSQL (another user when we are root) must reach its data dir through this one.
  chmodSync(dir, 0o755);
  const logs = path.join(dir, 'logs');
  const bin = path.join(dir, 'bin');
  const home = path.join(dir, 'home');
  for (const d of [logs, bin, home]) mkdirSync(d, { recursive: true });
  const links: Record<string, string> = {
    'temporal-server': production.temporalServer,
    'temporal-sql-tool': production.temporalSqlTool,
    temporal: tools.temporalCli,
  };
  for (const [name, target] of Object.entries(links)) {
    rmSync(path.join(bin, name), { force: true });
    symlinkSync(target, path.join(bin, name));
  }

  const postgresPassword = randomBytes(12).toString('hex');
  // With TLS, the file as the README switches mutual TLS on, its certificate folder the test's.
  const project = readComposeProject(
    production.composeCheck,
    { POSTGRES_PASSWORD: postgresPassword },
    { mtls: tls !== undefined },
  );
  const ports = await freeProductionPorts();
  const ctx = {
    imageDirs: { '/home/ui-server': production.uiServerDir },
    path: [bin, production.postgresBinDir],
    home,
    overrides: localOverrides(ports),
    mounts: (tls ? { [MTLS_CERTIFICATES]: tls.dir } : {}) as Record<string, string>,
  };
  const plans = Object.fromEntries(
    RUN_ORDER.map((name) => [name, planService(project, name, ctx)]),
  ) as Record<(typeof RUN_ORDER)[number], LocalService>;
  const healthy = (service: LocalService) => async () =>
    (
      await runToEnd(service.healthcheck!, {
        cwd: service.cwd,
        env: service.env,
        log: path.join(logs, `${service.name}.health.log`),
      })
    ).code === 0;

  const postgres = postgresPart(project, plans.postgresql, {
    dir,
    bin: production.postgresBinDir,
    port: ports.postgres,
    logs,
    healthy,
  });
  const temporal = longRunning('the Temporal server', () => plans.temporal, healthy(plans.temporal), {
    log: path.join(logs, 'temporal.log'),
    graceMs: 20_000,
  });
  const ui = longRunning(
    'the Temporal Web UI server',
    () => plans['temporal-ui'],
    healthy(plans['temporal-ui']),
    {
      log: path.join(logs, 'temporal-ui.log'),
    },
  );

  const runJob = async (name: string): Promise<string> => {
    const service = plans[name as (typeof RUN_ORDER)[number]] ?? planService(project, name, ctx);
    const log = path.join(logs, `${name}.log`);
    if (service.argv.length === 0)
      throw new Error(`${name}: the compose file gives no entrypoint or command to run`);
    for (let attempt = 1; ; attempt++) {
      const { code, output } = await runToEnd(service.argv, { cwd: service.cwd, env: service.env, log });
      if (code === 0) return output;
      if (!service.retryOnFailure || attempt >= 5)
        throw new Error(`${name} exited with code ${code} (attempt ${attempt}):\n${lastLines(output)}`);
      await new Promise((r) => setTimeout(r, 2000));
    }
  };

  const started: StackPart[] = [];
  const stop = async () => {
    for (const part of started.reverse()) await part.stop();
    if (!keep) rmSync(dir, { recursive: true, force: true });
  };
  try {
    await postgres.start();
    started.push(postgres);
    await runJob('temporal-schema');
    await temporal.start();
    started.push(temporal);
    await Promise.all([runJob('temporal-admin'), ui.start().then(() => started.push(ui))]);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    project,
    ports,
    address: `127.0.0.1:${ports.frontend}`,
    namespace: plans['temporal-admin'].env.TEMPORAL_NAMESPACE ?? 'default',
    uiUrl: `http://127.0.0.1:${ports.ui}`,
    postgresPassword,
    dir,
    postgres,
    temporal,
    ui,
    runJob,
    stop,
  };
}

/**
 * PostgreSQL from Debian's binaries, initialised as the postgres image's entrypoint does: the
 * superuser and password of the service's environment, password authentication over TCP.
 */
function postgresPart(
  project: ComposeProject,
  plan: LocalService,
  opts: {
    dir: string;
    bin: string;
    port: number;
    logs: string;
    healthy: (s: LocalService) => () => Promise<boolean>;
  },
): PostgresPart {
  const env = project.services.postgresql?.environment ?? {};
  const user = env.POSTGRES_USER ?? 'postgres';
  const password = env.POSTGRES_PASSWORD;
  if (!password) throw new Error('the postgresql service has no POSTGRES_PASSWORD');
  const data = path.join(opts.dir, 'postgres');
  const ids = postgresIds();
  let initialised = false;
  const part = longRunning(
    'PostgreSQL',
    () => ({
      argv: asPostgresUser([
        path.join(opts.bin, 'postgres'),
        '-D',
        data,
        '-h',
        '127.0.0.1',
        '-p',
        String(opts.port),
        '-k',
        data,
      ]),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C.UTF-8' },
    }),
    opts.healthy(plan),
    // SIGINT is PostgreSQL's fast shutdown: connected clients (the server) do not hold it up.
    { log: path.join(opts.logs, 'postgresql.log'), stopSignal: 'SIGINT', graceMs: 20_000 },
  );
  return {
    get child() {
      return part.child;
    },
    async start() {
      if (!initialised) {
        mkdirSync(data, { recursive: true, mode: 0o700 });
        const pwfile = path.join(opts.dir, 'pgpass.init');
        writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
        if (ids) {
          chownSync(data, ids.uid, ids.gid);
          chownSync(pwfile, ids.uid, ids.gid);
        }
        const initdb = asPostgresUser([
          path.join(opts.bin, 'initdb'),
          '-D',
          data,
          '-U',
          user,
          `--pwfile=${pwfile}`,
          '--auth-local=trust',
          '--auth-host=scram-sha-256',
          '-E',
          'UTF8',
          '--locale=C.UTF-8',
        ]);
        const result = await runToEnd(initdb, { log: path.join(opts.logs, 'postgresql-initdb.log') });
        rmSync(pwfile, { force: true });
        if (result.code !== 0) throw new Error(`initdb failed:\n${lastLines(result.output)}`);
        initialised = true;
      }
      await part.start();
    },
    stop: (o) => part.stop(o),
    async wipe() {
      await part.stop();
      rmSync(data, { recursive: true, force: true });
      initialised = false;
    },
  };
}

if (require.main === module) {
  void (async () => {
    const stack = await startProductionStack({ keep: process.argv.includes('--keep') });
    process.stdout.write(
      [
        `Temporal (PostgreSQL-backed): ${stack.address}, namespace ${stack.namespace}`,
        `Web UI: ${stack.uiUrl}`,
        `PostgreSQL: 127.0.0.1:${stack.ports.postgres}, user temporal, password ${stack.postgresPassword}`,
        `data and logs: ${stack.dir}`,
        'Ctrl-C stops it.',
        '',
      ].join('\n'),
    );
    const onSignal = () => void stack.stop().then(() => process.exit(0));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  })().catch((err: unknown) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  });
}
