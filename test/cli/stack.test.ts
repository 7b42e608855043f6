/**
 * `sv0 doctor`, `sv0 up`'s search attribute step and the workflow progress display, against the
 * real local stack (dev server, moto, Podman).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { doctorExitCode, runDoctor, type CheckResult } from '../../clients/doctor';
import { WaitTimeoutError, waitWithProgress } from '../../clients/progress';
import { searchAttributesUpStep } from '../../clients/search-attributes';
import { runUp } from '../../clients/up-step';
import { SEARCH_ATTRIBUTE_TYPES } from '../../lib/names';
import { ensureNetwork } from '../../scripts/dev-config';
import { freePort } from '../../scripts/local-stack';
import { finishSignal, standInStateQuery, uiDemoStandInWorkflow } from '../fixtures/ui-workflows';
import { MOTO_DEFAULT_ACCOUNT, motoEnv } from '../harness/aws';
import { sv0 } from '../harness/cli';
import { startPlatform, type PlatformStandIn } from '../harness/platform';
import { testDocker } from '../harness/docker';
import { stack } from '../harness/stack';
import { uniqueId } from '../harness/temporal';

const CONFIG_DIR = path.resolve(__dirname, '../../config');
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
const byName = (results: CheckResult[], name: string) => results.find((r) => r.name === name)!;

/** What the doctor's AWS check sees: moto through the SDK's own environment variables. */
function stackEnv(): NodeJS.ProcessEnv {
  return { ...motoEnv(), DOCKER_HOST: stack().dockerHost };
}

/** A stream that records what the progress display writes (not a terminal: one line per change). */
function recordingStream() {
  const lines: string[] = [];
  const stream = {
    isTTY: false,
    write: (text: string) => (lines.push(...text.split('\n').filter(Boolean)), true),
  };
  return { lines, stream: stream as unknown as NodeJS.WriteStream };
}

/** config/ as shipped, but with the platform API at `url` (connectors.yaml and worker.yaml). */
function configWithPlatform(url: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sv0-doctor-config-'));
  cpSync(CONFIG_DIR, dir, { recursive: true });
  for (const file of ['connectors.yaml', 'worker.yaml']) {
    const text = readFileSync(path.join(dir, file), 'utf8');
    expect(text).toContain('url: http://api:3000');
    writeFileSync(path.join(dir, file), text.replace('url: http://api:3000', `url: ${url}`));
  }
  return dir;
}

describe('sv0 doctor', () => {
  const saved = { ...process.env };
  let platform: PlatformStandIn;
  /** The shipped config, with the platform stand-in as the platform API. */
  let configDir: string;
  beforeAll(async () => {
    // The SDK's credential chain reads the process environment.
    Object.assign(process.env, stackEnv());
    await ensureNetwork(testDocker(), 'sv0-platform_default');
    platform = await startPlatform({ token: 'doctor-test-token' });
    configDir = configWithPlatform(platform.url);
  });
  afterAll(async () => {
    process.env = saved;
    await platform?.close();
  });

  it('reports the running stack reachable, and the secrets the configured connectors need as missing', async () => {
    const env = { ...stackEnv(), OP_SERVICE_ACCOUNT_TOKEN: undefined, SOPS_AGE_KEY_FILE: undefined };
    const results = await runDoctor({
      temporal: { address: stack().temporalAddress, namespace: stack().namespace },
      configDir,
      env,
    });
    expect(byName(results, 'temporal').status).toBe('ok');
    // The token is an op:// reference, for the worker to resolve: the API's 401 shows it is there.
    expect(byName(results, 'platform api')).toMatchObject({
      status: 'ok',
      detail: `${platform.url}/api/v1/syncs answers (HTTP 401 without a token; the worker sends op://sv0-connectors/platform-api/token)`,
    });
    expect(byName(results, 'search attributes')).toMatchObject({ status: 'ok' });
    expect(byName(results, 'aws')).toMatchObject({ status: 'ok' });
    expect(byName(results, 'aws').detail).toContain(`account ${MOTO_DEFAULT_ACCOUNT}`);
    expect(byName(results, 'container engine')).toMatchObject({ status: 'ok' });
    expect(byName(results, 'container engine').detail).toContain('sv0-platform_default present');
    // config/connectors.yaml uses op:// references and a SOPS file.
    expect(byName(results, '1password')).toMatchObject({ status: 'fail' });
    expect(byName(results, '1password').fix).toContain('OP_SERVICE_ACCOUNT_TOKEN');
    expect(byName(results, 'sops age key')).toMatchObject({ status: 'fail' });
    expect(doctorExitCode(results)).toBe(1);
  });

  it('passes every check once the 1Password token and a private age key are there', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sv0-doctor-'));
    const keyFile = path.join(dir, 'age-key.txt');
    const made = spawnSync(stack().tools.ageKeygen, ['-o', keyFile]);
    expect(made.status).toBe(0);
    chmodSync(keyFile, 0o600);
    const env = {
      ...stackEnv(),
      OP_SERVICE_ACCOUNT_TOKEN: 'ops_placeholder-for-the-presence-check',
      SOPS_AGE_KEY_FILE: keyFile,
    };
    const results = await runDoctor({
      temporal: { address: stack().temporalAddress },
      configDir,
      env,
    });
    expect(results.filter((r) => r.status === 'fail' || r.status === 'warn')).toEqual([]);
    expect(doctorExitCode(results)).toBe(0);

    // A key others can read is refused, as the worker would refuse it.
    chmodSync(keyFile, 0o644);
    const loose = await runDoctor({
      temporal: { address: stack().temporalAddress },
      configDir,
      env,
    });
    expect(byName(loose, 'sops age key').detail).toMatch(/readable by others/);
  });

  it('checks the platform API with an env: token: accepted, or refused with the reference named', async () => {
    const dir = configWithPlatform(platform.url);
    const file = path.join(dir, 'connectors.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(
        'tokenRef: op://sv0-connectors/platform-api/token',
        'tokenRef: env:DOCTOR_PLATFORM_TOKEN',
      ),
    );
    writeFileSync(
      path.join(dir, 'worker.yaml'),
      readFileSync(path.join(dir, 'worker.yaml'), 'utf8').replace(
        'envNames: []',
        'envNames: [DOCTOR_PLATFORM_TOKEN]',
      ),
    );
    const check = async (token: string) =>
      byName(
        await runDoctor({
          temporal: { address: stack().temporalAddress },
          configDir: dir,
          env: { ...stackEnv(), DOCTOR_PLATFORM_TOKEN: token },
        }),
        'platform api',
      );
    expect(await check('doctor-test-token')).toMatchObject({
      status: 'ok',
      detail: `${platform.url}/api/v1/syncs answers (HTTP 200, token accepted)`,
    });
    const refused = await check('not-the-token');
    expect(refused).toMatchObject({
      status: 'fail',
      detail: `${platform.url}/api/v1/syncs: HTTP 401, the token (env:DOCTOR_PLATFORM_TOKEN) was refused`,
    });
    expect(refused.unreachable).toBeFalsy();
    expect(JSON.stringify(refused)).not.toContain('not-the-token');
  });

  it('says each dependency is unreachable, with a fix, and exits 3', async () => {
    const env = {
      ...stackEnv(),
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      DOCKER_HOST: 'unix:///nonexistent/docker.sock',
    };
    // The AWS SDK and dockerode resolve their endpoints from the process environment.
    vi.stubEnv('AWS_ENDPOINT_URL', env.AWS_ENDPOINT_URL);
    vi.stubEnv('DOCKER_HOST', env.DOCKER_HOST);
    const results = await runDoctor({
      temporal: { address: `127.0.0.1:${await freePort()}` },
      configDir: CONFIG_DIR,
      env,
      timeoutMs: 3000,
    }).finally(() => vi.unstubAllEnvs());
    expect(byName(results, 'aws').detail).toContain('http://127.0.0.1:9');
    // The shipped platform.url names the API as the compose network knows it: not resolvable here.
    expect(byName(results, 'platform api').detail).toMatch(
      /^http:\/\/api:3000\/api\/v1\/syncs: the request failed \((ENOTFOUND|EAI_AGAIN): /,
    );
    for (const name of ['temporal', 'aws', 'container engine', 'platform api']) {
      expect(byName(results, name), name).toMatchObject({ status: 'fail', unreachable: true });
      expect(byName(results, name).fix, name).toBeTruthy();
    }
    expect(byName(results, 'search attributes').status).toBe('skipped');
    expect(doctorExitCode(results)).toBe(3);
  });

  it('as a command, exits 3 without telling the operator to run itself', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL', 'http://127.0.0.1:9');
    vi.stubEnv('DOCKER_HOST', 'unix:///nonexistent/docker.sock');
    try {
      const r = await sv0(
        'doctor',
        '--address',
        `127.0.0.1:${await freePort()}`,
        '--config-dir',
        CONFIG_DIR,
        '--timeout',
        '3',
      );
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('check(s) failed');
      expect(r.stderr).not.toContain('run `sv0 doctor`');
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('sv0 up: search attributes', () => {
  let connection: Connection;
  let client: Client;
  beforeAll(async () => {
    connection = await Connection.connect({ address: stack().temporalAddress });
  });
  afterAll(async () => {
    await connection?.close();
  });

  it('registers what a fresh namespace lacks, which doctor then finds, and changes nothing the second time', async () => {
    const namespace = uniqueId('sv0-up');
    await connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs('1 day'),
    });
    client = new Client({ connection, namespace });
    const doctor = () =>
      runDoctor({
        temporal: { address: stack().temporalAddress, namespace },
        configDir: CONFIG_DIR,
        env: stackEnv(),
      });
    // A new namespace reaches the frontend's cache within seconds.
    let before = await doctor();
    for (let i = 0; i < 60 && byName(before, 'temporal').status !== 'ok'; i++) {
      await new Promise((r) => setTimeout(r, 500));
      before = await doctor();
    }
    expect(byName(before, 'search attributes').status).toBe('fail');
    expect(byName(before, 'search attributes').fix).toContain(
      `temporal operator search-attribute create --namespace ${namespace} --name Sv0ExpiresAt --type Datetime`,
    );

    const ctx = { client, configDir: CONFIG_DIR, namespace, globals: {}, safe: true, log: () => undefined };
    const [first] = await runUp(ctx, [searchAttributesUpStep]);
    expect(first).toMatchObject({ ok: true, status: 'created' });
    expect([...first!.items!].sort()).toEqual(Object.keys(SEARCH_ATTRIBUTE_TYPES).sort());
    expect(byName(await doctor(), 'search attributes').status).toBe('ok');

    const [second] = await runUp(ctx, [searchAttributesUpStep]);
    expect(second).toMatchObject({ ok: true, status: 'unchanged' });
  });
});

describe('the progress display', () => {
  it('shows a missing worker, then the workflow query, then the end', async () => {
    const address = stack().temporalAddress;
    const connection = await Connection.connect({ address });
    const client = new Client({ connection });
    const taskQueue = uniqueId('progress');
    const handle = await client.workflow.start(uiDemoStandInWorkflow, {
      taskQueue,
      workflowId: uniqueId('progress'),
      args: [{ expiresAt: new Date(Date.now() + 3600_000).toISOString() }],
    });
    const render = (s: unknown) => `phase ${(s as { phase: string }).phase}`;

    // No worker yet: the wait ends at its limit and says what it is waiting for.
    const idle = recordingStream();
    const timedOut = waitWithProgress(handle, {
      label: 'stand-in',
      query: standInStateQuery,
      render,
      stream: idle.stream,
      intervalMs: 300,
      timeoutMs: 3000,
    });
    await expect(timedOut).rejects.toBeInstanceOf(WaitTimeoutError);
    expect(idle.lines).toContain(`stand-in: waiting for a worker on task queue ${taskQueue}`);

    const nativeConnection = await NativeConnection.connect({ address });
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue,
      workflowBundle: await bundleWorkflowCode({
        workflowsPath: path.resolve(__dirname, '../fixtures/ui-workflows/index.ts'),
        logger: quiet,
      }),
    });
    const shown = recordingStream();
    const result = await worker.runUntil(async () => {
      const waiting = waitWithProgress<string>(handle, {
        label: 'stand-in',
        query: standInStateQuery,
        render,
        stream: shown.stream,
        intervalMs: 300,
      });
      while (!shown.lines.includes('stand-in: phase running')) await new Promise((r) => setTimeout(r, 100));
      await handle.signal(finishSignal);
      return waiting;
    });
    expect(result).toBe('finished');
    expect(shown.lines.at(-1)).toBe('stand-in: done');
    await nativeConnection.close();
    await connection.close();
  });
});
