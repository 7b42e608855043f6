/**
 * The VM deployment of README.md on this machine, for the deployment tests: the production stack
 * (scripts/prod-stack.ts: PostgreSQL, the PostgreSQL-backed Temporal server, the Web UI server),
 * moto as the AWS, the platform stand-in for the connectors, a config folder adapted to them, and
 * two workers on both task queues: the compose file's worker service run from the worker image
 * (Podman, the engine's socket mounted in) and the same worker as a `node` process.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  copyFileSync,
  existsSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { stringify } from 'yaml';
import type { AwsClientConfig } from '../../lib/runtime/aws';
import { REPO_ROOT, startMoto, type Moto, type Running } from '../../scripts/local-stack';
import { MTLS_CERTIFICATES } from '../../scripts/compose-project';
import { startProductionStack, type ProductionStack, type StackTls } from '../../scripts/prod-stack';
import { ensureWorkerImage, startWorkerService, type WorkerService } from '../../scripts/worker-image';
import { startWorkerProcess, waitForWorkerPolling } from '../../scripts/worker-process';
import { testDocker } from './docker';
import { startPlatform, type PlatformStandIn } from './platform';
import { stack } from './stack';
import { writeTestWorkerSettings } from './worker-settings';

const SHIPPED_CONFIG = path.resolve(__dirname, '../../config');
/** The variable the workers read the platform API token from (connectors.yaml's tokenRef). */
const PLATFORM_TOKEN_ENV = 'SV0_DEPLOY_PLATFORM_TOKEN';
const PLATFORM_TOKEN = 'deployment-test-platform-token';
/**
 * The compose file's secret: a made-up 1Password service-account token, never valid anywhere (the
 * test config resolves nothing from 1Password).
 */
const OP_TOKEN = 'ops_deploymentTestToken00000000000000000';

/** One of the two workers: killed and started again by the fault phases. */
export interface DeployedWorker {
  readonly name: 'node' | 'image';
  /** Running now (started and not killed since). */
  readonly running: boolean;
  /** The identity the worker polls with (the SDK's `<pid>@<host>`); undefined for the image. */
  readonly identity: string | undefined;
  start(): Promise<void>;
  /** SIGKILL: no graceful shutdown, no chance to clean up. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** The image worker: also what its container wrote and a command run inside it. */
export interface DeployedImageWorker extends DeployedWorker {
  readonly name: 'image';
  /** Everything the running container wrote so far (stdout and stderr). */
  logs(): Promise<string>;
  /** Run a command in the running container, as its user. */
  exec(cmd: string[]): Promise<{ exitCode: number; output: string }>;
}

export interface Deployment {
  prod: ProductionStack;
  moto: Moto;
  platform: PlatformStandIn;
  /** The adapted config folder (`--config-dir`). */
  configDir: string;
  /** The test connector's name in that folder. */
  connector: string;
  /** The connector's gate (SV0_TEST_WAIT_GATE): its runs wait until the test opens it. */
  gate: string;
  /** Where the workers' logs and the config live. */
  dir: string;
  /** What the CLI and the `node` worker read: TEMPORAL_*, AWS_* (moto), DOCKER_HOST. */
  env: Record<string, string>;
  node: DeployedWorker;
  image: DeployedImageWorker;
  /** The compose secret the image worker reads its 1Password token from (made up, never valid). */
  opToken: string;
  /** AWS clients' settings for moto's management account, for set-up and inspection. */
  aws: AwsClientConfig;
  /** A client of the production server (reconnect after restarting it: `reconnect()`). */
  client(): Client;
  reconnect(): Promise<Client>;
  /** The global options every `sv0` command of the test gets. */
  cliArgs(): string[];
  /**
   * Start one more `node` worker, of the sources under `root` (a second build, see
   * {@link secondBuild}), polling both task queues; it stops with the deployment.
   */
  startWorker(root: string): Promise<DeployedWorker>;
  stop(): Promise<void>;
}

/** The change the second build makes (test/fixtures/rolling-upgrade/second-build.patch). */
export const SECOND_BUILD = {
  patch: path.resolve(__dirname, '../fixtures/rolling-upgrade/second-build.patch'),
  /** The id it passes to `patched()` in the demo lifecycle, before a deployed demo waits. */
  patchId: 'sv0-test-rolling-upgrade',
  /** The memo entry a demo deployed by the second build gets. */
  memo: { sv0TestBuild: 'second' },
} as const;

/**
 * A second build of the worker, as a rolling upgrade deploys it: a checkout of these sources (the
 * files git tracks or would add, as they are on disk) under `dir`, with the fixture patch applied
 * (a workflow change behind `patched()`), sharing this checkout's node_modules. Returns its root.
 */
export function secondBuild(dir: string): string {
  const root = path.join(dir, 'second-build');
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  for (const file of listed.stdout.split('\0')) {
    if (!file || !existsSync(path.join(REPO_ROOT, file))) continue;
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    copyFileSync(path.join(REPO_ROOT, file), path.join(root, file));
  }
  symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(root, 'node_modules'));
  const applied = spawnSync('git', ['apply', SECOND_BUILD.patch], { cwd: root, encoding: 'utf8' });
  if (applied.status !== 0)
    throw new Error(
      `${path.relative(REPO_ROOT, SECOND_BUILD.patch)} no longer applies to the sources; remake it from the ` +
        `current workflows/demo/lifecycle.ts (git apply: ${applied.stderr.trim()})`,
    );
  return root;
}

/**
 * The config folder the test deploys: the shipped files, with one connector (the test image, on
 * the test's bridge network, reaching the platform stand-in at its container URL) instead of the
 * real ones, the platform token from the workers' environment, one change moto needs (its SSO
 * Admin finds AWS managed policies only without their path), and the worker.yaml an operator
 * writes for such a deployment: the test image's registry, the test's network, the stand-in's
 * origin as the platform and the token's variable as the one `env:` may read.
 */
function writeConfig(
  dir: string,
  opts: { platform: PlatformStandIn; network: string; connector: string; gate: string },
): string {
  const configDir = path.join(dir, 'config');
  cpSync(SHIPPED_CONFIG, configDir, { recursive: true });
  const org = path.join(configDir, 'org.yaml');
  writeFileSync(
    org,
    readFileSync(org, 'utf8').replace('policy/job-function/Billing', 'policy/AWSBillingReadOnlyAccess'),
  );
  const connectors = {
    defaults: {
      network: opts.network,
      timeout: '3m',
      memoryMb: 256,
      jitter: '1s',
      catchupWindow: '1m',
      retry: { maximumAttempts: 3, initialInterval: '1s', backoffCoefficient: 1, maximumInterval: '1s' },
      pauseAfterFailedRuns: 3,
    },
    platform: { url: opts.platform.url, tokenRef: `env:${PLATFORM_TOKEN_ENV}`, syncsPath: '/api/v1/syncs' },
    healthCheckEvery: '5m',
    connectors: [
      {
        name: opts.connector,
        image: stack().connectorImage,
        args: ['--all', '--submit', '--platform-url', opts.platform.containerUrl],
        interval: '1h',
        environment: {
          SV0_TEST_CONNECTOR: opts.connector,
          SV0_TEST_HASH_VARS: 'SV0_TEST_CONNECTOR',
          SV0_TEST_WAIT_GATE: opts.gate,
        },
      },
    ],
  };
  writeFileSync(path.join(configDir, 'connectors.yaml'), stringify(connectors));
  writeTestWorkerSettings(path.join(configDir, 'worker.yaml'), {
    networks: [opts.network],
    platformUrl: opts.platform.url,
    envNames: [PLATFORM_TOKEN_ENV],
  });
  return configDir;
}

/**
 * What the image worker takes from the node worker's environment: not what the compose service
 * sets itself, DOCKER_HOST (the socket mounted into the container) and, with mutual TLS switched
 * on in the file, the TEMPORAL_TLS_* settings (the certificates at their path in the container).
 */
function forTheImage(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter(([key]) => key !== 'DOCKER_HOST' && !key.startsWith('TEMPORAL_TLS_')),
  );
}

/** A file the image's user (uid 1000) owns, to mount as a compose secret. */
function secretFile(dir: string, name: string, content: string): string {
  chmodSync(dir, 0o755);
  const file = path.join(dir, name);
  writeFileSync(file, content, { mode: 0o600 });
  chownSync(file, 1000, 1000);
  return file;
}

/** The name in the server's certificate, which every client checks (TEMPORAL_TLS_SERVER_NAME). */
const SERVER_NAME = 'temporal';

/**
 * Certificates for mutual TLS, made with openssl for this run: a CA, the server's certificate
 * (for the frontend and for the services among themselves) and one client certificate that the
 * workers, the CLI, the jobs and the UI server present. Readable by the image's user (uid 1000).
 */
/** The test's certificates: their folder (as the compose file names the files) and each file. */
interface TestCertificates extends StackTls {
  caCert: string;
  serverCert: string;
  serverKey: string;
  serverName: string;
  clientCert: string;
  clientKey: string;
}

function makeCertificates(dir: string): TestCertificates {
  const tls = path.join(dir, 'tls');
  mkdirSync(tls, { mode: 0o755 });
  const file = (name: string) => path.join(tls, name);
  writeFileSync(
    file('ext.cnf'),
    [
      '[server]',
      'basicConstraints=CA:FALSE',
      'keyUsage=digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth,clientAuth',
      `subjectAltName=DNS:${SERVER_NAME},DNS:localhost,IP:127.0.0.1`,
      '[client]',
      'basicConstraints=CA:FALSE',
      'keyUsage=digitalSignature,keyEncipherment',
      'extendedKeyUsage=clientAuth',
      '',
    ].join('\n'),
  );
  const openssl = (...args: string[]) => {
    const result = spawnSync('openssl', args, { cwd: tls, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${result.stderr}`);
  };
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...newKey,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=sv0 deployment test CA',
  );
  for (const [name, cn] of [
    ['server', SERVER_NAME],
    ['client', 'sv0-worker'],
  ] as const) {
    openssl('req', ...newKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      'ext.cnf',
      '-extensions',
      name,
      '-out',
      `${name}.pem`,
    );
  }
  for (const name of ['server.key', 'client.key']) {
    chmodSync(file(name), 0o600);
    chownSync(file(name), 1000, 1000);
  }
  return {
    dir: tls,
    caCert: file('ca.pem'),
    serverCert: file('server.pem'),
    serverKey: file('server.key'),
    serverName: SERVER_NAME,
    clientCert: file('client.pem'),
    clientKey: file('client.key'),
  };
}

/** Temporal's environment configuration for a client with the test's certificate. */
function clientTlsEnv(tls: TestCertificates): Record<string, string> {
  return {
    TEMPORAL_TLS_CLIENT_CERT_PATH: tls.clientCert,
    TEMPORAL_TLS_CLIENT_KEY_PATH: tls.clientKey,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: tls.caCert,
    TEMPORAL_TLS_SERVER_NAME: tls.serverName,
  };
}

/** Start the whole deployment: the stack, moto, the platform stand-in, both workers polling. */
export async function startDeployment(): Promise<Deployment> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sv0-deploy-'));
  const parts: { stop(): Promise<void> }[] = [];
  const stopAll = async () => {
    for (const part of parts.reverse()) await part.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const image = ensureWorkerImage();
    const tls = makeCertificates(dir);
    const [prod, moto, platform] = await Promise.all([
      startProductionStack({ tools: stack().tools, tls }).then((p) => (parts.push(p), p)),
      startMoto(stack().tools, { loadManagedPolicies: true }).then((m) => (parts.push(m), m)),
      startPlatform({ token: PLATFORM_TOKEN }).then((p) => (parts.push({ stop: p.close }), p)),
    ]);
    // Unique on this machine, as the network: the connector's containers are found by its name,
    // and other runs of this test may share the container engine.
    const run = path.basename(dir).slice('sv0-deploy-'.length).toLowerCase();
    const connector = `deploy-sync-${run}`;
    const gate = connector.replace(/-/g, '_');
    // The platform's network, as its compose project makes it on a VM (never `host`).
    const network = `sv0-deploy-${run}`;
    await testDocker().createNetwork({ Name: network, Labels: { 'sv0.purpose': 'deployment-test' } });
    parts.push({ stop: () => testDocker().getNetwork(network).remove() });
    const configDir = writeConfig(dir, { platform, network, connector, gate });
    let extraWorkers = 0;
    const env: Record<string, string> = {
      TEMPORAL_ADDRESS: prod.address,
      TEMPORAL_NAMESPACE: prod.namespace,
      DOCKER_HOST: stack().dockerHost,
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_EC2_METADATA_DISABLED: 'true',
      [PLATFORM_TOKEN_ENV]: PLATFORM_TOKEN,
      SV0_SHUTDOWN_GRACE: '10 seconds',
      ...clientTlsEnv(tls),
    };
    const connectionOptions = {
      address: prod.address,
      tls: {
        serverNameOverride: tls.serverName,
        serverRootCACertificate: readFileSync(tls.caCert),
        clientCertPair: { crt: readFileSync(tls.clientCert), key: readFileSync(tls.clientKey) },
      },
    };
    let connection = await Connection.connect(connectionOptions);
    let client = new Client({ connection, namespace: prod.namespace });
    parts.push({ stop: () => connection.close() });

    // The node workers read the worker.yaml of the config folder, as the image's does at /app/config.
    const nodeEnv = { ...env, SV0_CONFIG_DIR: configDir };
    const node = nodeWorker(nodeEnv, dir, () => client, { root: REPO_ROOT, name: 'node' });
    const socket = stack().dockerSocket;
    if (!socket) throw new Error('the test stack has no local container engine socket to give the worker');
    const imageWorker = imageWorkerService({
      image,
      prod,
      socket,
      // What /etc/sv0/worker.env holds on a VM; the service sets the rest.
      env: {
        ...forTheImage(env),
        SV0_METRICS_ADDRESS: '127.0.0.1:0',
      },
      // The compose file mounts the operator's config folder (worker.yaml with it) at /app/config.
      // The certificates where the compose file's worker service, with mutual TLS switched on,
      // reads them (its TEMPORAL_TLS_* settings come with the service's environment).
      binds: [`${tls.dir}:${MTLS_CERTIFICATES}:ro`, `${configDir}:/app/config:ro`],
      tokenFile: secretFile(dir, 'op-token', `${OP_TOKEN}\n`),
    });
    parts.push(node, imageWorker);
    await Promise.all([node.start(), imageWorker.start()]);

    return {
      prod,
      moto,
      platform,
      configDir,
      connector,
      gate,
      dir,
      env,
      node,
      image: imageWorker,
      opToken: OP_TOKEN,
      aws: {
        region: 'us-east-1',
        endpoint: moto.endpoint,
        credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
        maxAttempts: 2,
      },
      client: () => client,
      async reconnect() {
        await connection.close().catch(() => undefined);
        connection = await Connection.connect(connectionOptions);
        client = new Client({ connection, namespace: prod.namespace });
        return client;
      },
      cliArgs: () => ['--address', prod.address, '--namespace', prod.namespace, '--config-dir', configDir],
      async startWorker(root) {
        extraWorkers += 1;
        const worker = nodeWorker(nodeEnv, dir, () => client, { root, name: `node-${extraWorkers + 1}` });
        parts.push(worker);
        await worker.start();
        return worker;
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * The production worker as a `node` process (workers/main.ts of the sources under `root`), as
 * `npm run dev` runs it; its logs are `<name>-<start>.log` under `dir`.
 */
function nodeWorker(
  env: Record<string, string>,
  dir: string,
  client: () => Client,
  opts: { root: string; name: string },
): DeployedWorker {
  let running: Running | undefined;
  let starts = 0;
  return {
    name: 'node',
    get running() {
      return running !== undefined;
    },
    get identity() {
      return running ? `${running.child.pid}@${hostname()}` : undefined;
    },
    async start() {
      starts += 1;
      const logFile = path.join(dir, `worker-${opts.name}-${starts}.log`);
      const workerEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
      delete workerEnv.SV0_CODEC_KEY_FILE;
      delete workerEnv.SV0_CODEC_KEYS;
      running = startWorkerProcess(workerEnv, logFile, { root: opts.root });
      await waitForWorkerPolling(client(), running.child, { logFile });
    },
    async kill() {
      const child = running?.child;
      running = undefined;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      const r = running;
      running = undefined;
      await r?.stop();
    },
  };
}

/** The compose file's worker service, run from the worker image (scripts/worker-image.ts). */
function imageWorkerService(opts: {
  image: string;
  prod: ProductionStack;
  socket: string;
  env: Record<string, string>;
  tokenFile: string;
  binds: string[];
}): DeployedImageWorker {
  let service: WorkerService | undefined;
  const running = () => {
    if (!service) throw new Error('the image worker is not running');
    return service;
  };
  return {
    name: 'image',
    get running() {
      return service !== undefined;
    },
    identity: undefined,
    async start() {
      service = await startWorkerService(testDocker(), {
        image: opts.image,
        stack: opts.prod,
        dockerSocket: opts.socket,
        env: opts.env,
        secrets: { op_service_account_token: opts.tokenFile },
        binds: opts.binds,
      });
      const deadline = Date.now() + 180_000;
      for (;;) {
        const logs = await service.logs();
        if (logs.includes('sv0 worker polling')) return;
        const state = await testDocker().getContainer(service.id).inspect();
        if (!state.State.Running)
          throw new Error(`the worker image's container exited (${state.State.ExitCode}):\n${logs}`);
        if (Date.now() > deadline) throw new Error(`the worker image did not start polling:\n${logs}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    },
    logs: () => running().logs(),
    exec: (cmd) => running().exec(cmd),
    async kill() {
      const s = service;
      service = undefined;
      await s?.stop({ kill: true });
    },
    async stop() {
      const s = service;
      service = undefined;
      await s?.stop();
    },
  };
}

/** The server's two databases (the compose file's schema job creates them). */
const DATABASES = ['temporal', 'temporal_visibility'] as const;

/** Run a PostgreSQL client tool against the stack's PostgreSQL as the compose file's user. */
function postgresTool(prod: ProductionStack, tool: string, args: string[]): void {
  const user = prod.project.services.postgresql?.environment?.POSTGRES_USER ?? 'postgres';
  const result = spawnSync(
    path.join(stack().tools.production.postgresBinDir, tool),
    ['-h', '127.0.0.1', '-p', String(prod.ports.postgres), '-U', user, ...args],
    { encoding: 'utf8', env: { ...process.env, PGPASSWORD: prod.postgresPassword } },
  );
  if (result.status !== 0)
    throw new Error(`${tool} ${args.join(' ')} failed (exit ${result.status}): ${result.stderr}`);
}

/**
 * README's backup, with the server stopped so that both databases are of the same moment:
 * `pg_dump --format=custom` of each. Returns the dump files.
 */
export function dumpDatabases(prod: ProductionStack, dir: string): string[] {
  return DATABASES.map((db) => {
    const file = path.join(dir, `${db}.dump`);
    postgresTool(prod, 'pg_dump', ['--format=custom', '--dbname', db, '--file', file]);
    return file;
  });
}

/** README's restore into an empty PostgreSQL: `pg_restore --create` of each dump. */
export function restoreDatabases(prod: ProductionStack, files: string[]): void {
  for (const file of files) postgresTool(prod, 'pg_restore', ['--create', '--dbname', 'postgres', file]);
}
