/**
 * `npm run dev`: the whole orchestrator on this machine. The Temporal dev server with its Web UI
 * (state kept in .sv0/dev/temporal-<moto|real>.db, so a second start resumes: schedules keep running and demos
 * still expire on their TTL), moto as the AWS (unless `--aws real`), Podman's Docker API, a
 * stand-in for the platform API (port 3000 when free), the worker, and `sv0 up`. Prints what runs
 * where; Ctrl-C stops everything.
 *
 *   npm run dev                  moto; config/org.yaml's organization is bootstrapped into it
 *   npm run dev -- --aws real    your AWS credentials; the demo sweep starts paused and budget
 *                                freezes as dry runs until you run `sv0 up --enable-destructive`
 *   npm run dev -- --reset       start from an empty Temporal database
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { Command, Option } from 'commander';
import Docker from 'dockerode';
import { defaultAwsConfig } from '../lib/runtime/aws';
import {
  DEFAULT_CODEC_SERVER_PORT,
  startCodecServer,
  type RunningCodecServer,
} from '../clients/codec-server';
import { errorMessage } from '../clients/errors';
import { connectClient } from '../lib/runtime/temporal';
import { runUp, type UpReport } from '../clients/up-step';
import { upSteps } from '../clients/up';
import { AesGcmCodec, CODEC_KEY_FILE_ENV, codecKeysFromEnv } from '../lib/runtime/codec';
import { createLogger } from '../lib/runtime/logger';
import { TaskQueues } from '../lib/names';
import { DEV_PLATFORM_TOKEN_ENV, ensureNetwork, prepareDevConfig, type DevConfigChange } from './dev-config';
import { startPlatform } from './platform-stand-in';
import { bootstrapDevOrganization } from './dev-org';
import {
  freePort,
  provisionStack,
  REPO_ROOT,
  startDevServer,
  startDockerApi,
  startMoto,
  STATE_DIR,
  type Running,
} from './local-stack';
import { startWorkerProcess, waitForWorkerPolling } from './worker-process';

const DEV_DIR = path.join(STATE_DIR, 'dev');
const rel = (p: string) => path.relative(process.cwd(), p) || '.';
const say = (text: string) => process.stderr.write(`${text}\n`);

interface DevOptions {
  aws: 'moto' | 'real';
  reset?: boolean;
  configDir?: string;
}

/** The wanted port when it is free on 127.0.0.1, else any free one (and a note saying so). */
async function preferPort(wanted: number, what: string, notes: string[]): Promise<number> {
  const free = await new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(wanted, '127.0.0.1', () => server.close(() => resolve(true)));
  });
  if (free) return wanted;
  const port = await freePort();
  notes.push(`${what}: port ${wanted} is taken, using ${port}`);
  return port;
}

/** The environment the worker (and this process's `sv0 up`) runs with. */
function stackEnv(opts: { address: string; dockerHost: string; motoEndpoint?: string }): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: opts.address,
    TEMPORAL_NAMESPACE: 'default',
    DOCKER_HOST: opts.dockerHost,
    SV0_SHUTDOWN_GRACE: '10 seconds',
    [DEV_PLATFORM_TOKEN_ENV]: process.env[DEV_PLATFORM_TOKEN_ENV] ?? 'dev',
  };
  if (opts.motoEndpoint) {
    // moto only: the developer's own AWS credentials and profile are never used by accident.
    for (const key of [
      'AWS_PROFILE',
      'AWS_DEFAULT_PROFILE',
      'AWS_SESSION_TOKEN',
      'AWS_ROLE_ARN',
      'AWS_WEB_IDENTITY_TOKEN_FILE',
    ]) {
      delete env[key];
    }
    Object.assign(env, {
      AWS_ENDPOINT_URL: opts.motoEndpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
  }
  return env;
}

/**
 * Echo the first line of each worker warning or error to the terminal (pino JSON lines at level
 * 40+, and the SDK's own `[WARN]`/`[ERROR]` lines); the whole output is in the worker's log.
 */
function echoWorkerWarning(line: string): void {
  const sdk = /^\S+ \[(WARN|ERROR)\] (.*)$/.exec(line);
  if (sdk) return void process.stderr.write(`worker | ${sdk[1]} ${sdk[2]}\n`);
  if (!line.startsWith('{')) return;
  let entry: { level?: unknown; msg?: unknown; activityType?: unknown; error?: { message?: unknown } };
  try {
    entry = JSON.parse(line) as typeof entry;
  } catch {
    return;
  }
  if (typeof entry.level !== 'number' || entry.level < 40) return;
  // The SDK's "Activity failed" says why only in its error field: show which activity and why.
  const what = [entry.activityType, entry.msg].filter((x) => typeof x === 'string').join(': ');
  const why = typeof entry.error?.message === 'string' ? ` (${entry.error.message.split('\n')[0]})` : '';
  process.stderr.write(`worker | ${entry.level >= 50 ? 'ERROR' : 'WARN'} ${what || line}${why}\n`);
}

/**
 * The codec server for the Web UI when payload encryption is configured, on 127.0.0.1 with a token
 * made for this run (written 0600 to .sv0/dev/codec-token) and the UI's origins allowed.
 */
async function startDevCodecServer(
  uiPort: number,
  notes: string[],
): Promise<(RunningCodecServer & { keyIds: string[]; tokenFile: string }) | undefined> {
  const keys = codecKeysFromEnv();
  if (!keys) return undefined;
  const token = randomBytes(24).toString('base64url');
  const tokenFile = path.join(DEV_DIR, 'codec-token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  chmodSync(tokenFile, 0o600);
  const server = await startCodecServer({
    codec: new AesGcmCodec(keys),
    token,
    allowedOrigins: [`http://127.0.0.1:${uiPort}`, `http://localhost:${uiPort}`],
    port: await preferPort(DEFAULT_CODEC_SERVER_PORT, 'codec server', notes),
    logger: createLogger('sv0-codec-server', createWriteStream(path.join(DEV_DIR, 'codec-server.log'))),
  });
  return { ...server, keyIds: keys.map((k) => k.id), tokenFile };
}

function summary(lines: [string, string][]): string {
  const width = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
}

async function dev(opts: DevOptions): Promise<void> {
  const started: (Pick<Running, 'stop'> & { child?: ChildProcess })[] = [];
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      say('\nstopping: worker, platform stand-in, Docker API, moto, Temporal');
      for (const part of [...started].reverse()) await part.stop().catch(() => undefined);
    })());
  // The first signal stops everything in order. A signal can arrive twice (the terminal and tsx both
  // deliver it), so later ones only say so; the third kills what is left rather than orphan it.
  let signals = 0;
  const onSignal = () => {
    signals += 1;
    if (signals === 1) void stopAll().then(() => process.exit(0));
    else if (signals < 3)
      say('still stopping (the worker finishes its running activities); signal again to kill');
    else {
      for (const part of started) part.child?.kill('SIGKILL');
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A closed terminal stops everything too, rather than leave the engine's API server behind.
  process.on('SIGHUP', onSignal);

  try {
    const tools = provisionStack({ profile: 'dev' });
    mkdirSync(DEV_DIR, { recursive: true });
    // One database per AWS target: schedules and guards started against moto must never wake up
    // against real AWS (their inputs name moto's accounts), nor the other way round.
    const dbFile = path.join(DEV_DIR, `temporal-${opts.aws}.db`);
    // The platform stand-in's syncs go with that database: the health check compares the two.
    const platformFile = path.join(DEV_DIR, `platform-syncs-${opts.aws}.json`);
    if (opts.reset) for (const f of [dbFile, platformFile]) rmSync(f, { force: true });
    const notes: string[] = [];
    const port = await preferPort(7233, 'Temporal', notes);
    const uiPort = await preferPort(8233, 'Web UI', notes);

    // Payload encryption is on when SV0_CODEC_KEY_FILE (or SV0_CODEC_KEYS) is set: the worker and
    // every client encrypt, and a codec server lets the Web UI show the payloads decrypted.
    const codec = await startDevCodecServer(uiPort, notes);
    if (codec) started.push({ stop: codec.close });

    say('starting the Temporal dev server, moto and the Docker API...');
    const [temporal, moto, docker] = await Promise.all([
      startDevServer(tools, { port, uiPort, dbFile, uiCodecEndpoint: codec?.url }).then(
        (s) => (started.push(s), s),
      ),
      opts.aws === 'moto'
        ? preferPort(5000, 'moto', notes)
            .then((p) => startMoto(tools, { port: p, loadManagedPolicies: true }))
            .then((s) => (started.push(s), s))
        : undefined,
      startDockerApi(tools, 'dev-podman').then(
        (s) => (s.stop && started.push({ stop: s.stop, child: s.child }), s),
      ),
    ]);
    const env = stackEnv({
      address: temporal.address,
      dockerHost: docker.dockerHost,
      motoEndpoint: moto?.endpoint,
    });
    // The platform is not part of this stack: a stand-in answers the health check's questions.
    const platform = await startPlatform({
      token: env[DEV_PLATFORM_TOKEN_ENV] ?? 'dev',
      port: await preferPort(3000, 'platform stand-in', notes),
      stateFile: platformFile,
      syncOnSubmission: true,
    });
    started.push({ stop: platform.close });
    // `sv0 up` runs in this process: give it the same AWS and Docker as the worker.
    Object.assign(process.env, env);
    for (const key of Object.keys(process.env)) if (!(key in env)) delete process.env[key];

    const sts = new STSClient({ ...defaultAwsConfig(), maxAttempts: 2 });
    const aws = await sts.send(new GetCallerIdentityCommand({})).catch((err: Error) => {
      throw new Error(
        `AWS credentials do not work (${err.message}); for real AWS set AWS_PROFILE or run \`aws sso login\``,
      );
    });

    const engine = new Docker();
    const configChanges: DevConfigChange[] = [];
    const devConfig = path.join(DEV_DIR, 'config');
    configChanges.push(
      ...(await prepareDevConfig({
        sourceDir: path.resolve(
          opts.configDir ?? process.env.SV0_CONFIG_DIR ?? path.join(REPO_ROOT, 'config'),
        ),
        targetDir: devConfig,
        docker: engine,
        sampleImage: tools.connectorImage,
        env,
        platform,
      })),
    );
    // The worker reads its settings (worker.yaml) and org.yaml from the dev copy too.
    env.SV0_CONFIG_DIR = devConfig;
    process.env.SV0_CONFIG_DIR = devConfig;
    if (await ensureNetwork(engine, 'sv0-platform_default')) {
      configChanges.push({
        what: 'created the Docker network sv0-platform_default',
        why: 'connectors join it',
      });
    }

    say('starting the worker...');
    const workerLog = path.join(DEV_DIR, 'worker.log');
    const worker = startWorkerProcess(env, workerLog, { onLine: echoWorkerWarning });
    started.push(worker);
    const client = await connectClient({ address: temporal.address, namespace: temporal.namespace });
    // The client's connection is left to the process's exit: closing it under a pending long poll
    // makes gRPC throw from a timer.
    await waitForWorkerPolling(client, worker.child, { logFile: rel(workerLog) });

    let orgLine = 'not bootstrapped for you with real AWS: `npm run sv0 -- org plan`, then `org apply`';
    if (moto) {
      // A failed bootstrap leaves the rest of the stack useful: say so in the summary, keep running.
      orgLine = await bootstrapDevOrganization(client, devConfig).catch(
        (err: unknown) => `FAILED: ${errorMessage(err)}`,
      );
    }

    say('sv0 up...');
    const safe = opts.aws === 'real';
    const reports: UpReport[] = await runUp(
      {
        client,
        configDir: devConfig,
        namespace: temporal.namespace,
        globals: { address: temporal.address },
        safe,
        log: say,
      },
      upSteps(),
    );

    const envFile = path.join(DEV_DIR, 'env');
    // The stand-in's token too (not a secret: a made-up value for a local stand-in), so that
    // `sv0 doctor` checks the platform API with it.
    const exports = [
      'TEMPORAL_ADDRESS',
      'TEMPORAL_NAMESPACE',
      'DOCKER_HOST',
      'SV0_CONFIG_DIR',
      DEV_PLATFORM_TOKEN_ENV,
    ];
    if (moto) exports.push('AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY');
    writeFileSync(
      envFile,
      exports.map((k) => `export ${k}=${k === 'SV0_CONFIG_DIR' ? devConfig : (env[k] ?? '')}`).join('\n') +
        '\n',
      { mode: 0o600 },
    );
    chmodSync(envFile, 0o600);

    const lines: [string, string][] = [
      [
        'Temporal',
        `${temporal.address}, namespace ${temporal.namespace}; state in ${rel(dbFile)} (kept across restarts)`,
      ],
      ['Web UI', `http://127.0.0.1:${uiPort}`],
      [
        'payloads',
        codec
          ? `encrypted (keys ${codec.keyIds.join(', ')}); codec server ${codec.url}: open ${codec.url}/login once per browser and enter the token in ${rel(codec.tokenFile)}, then tick "include cross-origin credentials" in the Web UI's codec settings; CLI: --codec-endpoint ${codec.url} --codec-auth "Bearer $(cat ${rel(codec.tokenFile)})"`
          : `not encrypted (set ${CODEC_KEY_FILE_ENV} to a key file from \`sv0 codec-key\` to encrypt them)`,
      ],
      [
        'AWS',
        moto
          ? `moto at ${moto.endpoint}, account ${aws.Account} (fresh at each start)`
          : `real AWS, account ${aws.Account} as ${aws.Arn}, region ${await sts.config.region()}`,
      ],
      ['organization', orgLine],
      ['Docker API', docker.dockerHost],
      [
        'platform API',
        `stand-in at ${platform.url} (connectors reach it at ${platform.containerUrl}); syncs kept in ${rel(platformFile)}`,
      ],
      [
        'worker',
        `pid ${worker.child.pid}, task queues ${Object.values(TaskQueues).join(', ')}; log ${rel(workerLog)}`,
      ],
      ['config', `${rel(devConfig)} (from config/)`],
      ...configChanges.map((c): [string, string] => ['dev change', `${c.what} (${c.why})`]),
      ...reports.map((r): [string, string] => [
        `up: ${r.step}`,
        r.ok ? `${r.status}${r.detail ? `: ${r.detail}` : ''}` : `FAILED: ${r.error}`,
      ]),
      ...notes.map((n): [string, string] => ['note', n]),
    ];
    say(`\nsv0 dev stack is up\n${summary(lines)}\n`);
    if (safe)
      say(
        'With real AWS the demo sweep is paused and budget freezes are dry runs: `npm run sv0 -- up --enable-destructive` arms them.',
      );
    say(
      `Another terminal: \`source ${rel(envFile)}\` then \`npm run sv0 -- doctor\`. Ctrl-C stops everything.`,
    );
    await new Promise<void>((resolve) => worker.child.once('exit', () => resolve()));
    if (!stopping) {
      say(`the worker exited (code ${worker.child.exitCode}); see ${rel(workerLog)}`);
      await stopAll();
      process.exit(1);
    }
  } catch (err) {
    say(`npm run dev failed: ${errorMessage(err)}`);
    await stopAll();
    process.exit(1);
  }
}

if (require.main === module) {
  const program = new Command('npm run dev --')
    .description(
      'run the whole orchestrator locally: Temporal dev server + Web UI, moto, Podman, the worker, sv0 up',
    )
    .addOption(
      new Option('--aws <target>', 'moto (local, the default) or real (your credentials)')
        .choices(['moto', 'real'])
        .default('moto'),
    )
    .option('--reset', 'delete the dev Temporal database first')
    .option('--config-dir <dir>', 'config folder to start from (default ./config)')
    .action((opts: DevOptions) => dev(opts));
  program.parseAsync(process.argv).catch((err: unknown) => {
    say(String(err));
    process.exit(2);
  });
}
