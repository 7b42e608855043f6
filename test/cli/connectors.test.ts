import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../clients/cli';
import { connectorScheduleOptions } from '../../clients/connectors/schedules';
import { createLogger } from '../../lib/runtime/logger';
import { ScheduleIds, TaskQueues, WorkflowIds } from '../../lib/names';
import { startPlatform, type PlatformStandIn } from '../harness/platform';
import { stack } from '../harness/stack';
import { ensureTestNetwork, TEST_NETWORK, testWorkerSettings } from '../harness/worker-settings';
import { registryHost } from '../../lib/config/connectors';
import { runWorker, testEnv, uniqueId } from '../harness/temporal';
import { testConnectorActivities } from '../harness/connectors';

let env: TestWorkflowEnvironment;
let client: Client;
let platform: PlatformStandIn;
let configDir: string;
const name = uniqueId('cli');
const disabled = uniqueId('cli-off');
const histOk = uniqueId('cli-hist');
const histFail = uniqueId('cli-histfail');
const histSecret = `hist-secret-${uniqueId('v')}`;
const unrelated = uniqueId('not-a-connector');
const leftover = ScheduleIds.connector(uniqueId('old'));
const logger = createLogger('cli-test', new Writable({ write: (_c, _e, done) => done() }));

/** Run `sv0 ...` in-process against the dev server; returns the exit code and stdout. */
async function sv0(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string; json: () => unknown }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  });
  try {
    const { temporalAddress, namespace } = stack();
    const code = await main([
      'node',
      'sv0',
      '--address',
      temporalAddress,
      '--namespace',
      namespace,
      '--config-dir',
      configDir,
      ...args,
    ]);
    return { code, stdout, stderr, json: () => JSON.parse(stdout) as unknown };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

function activities() {
  const settings = testWorkerSettings({
    platformUrl: platform.url,
    secrets: { envNames: ['PLATFORM_TOKEN', 'HIST_SECRET'] },
  });
  return testConnectorActivities({ settings, logger, env: { PLATFORM_TOKEN: 't', HIST_SECRET: histSecret } });
}

beforeAll(async () => {
  env = await testEnv();
  client = env.client;
  platform = await startPlatform({ token: 't' });
  configDir = mkdtempSync(path.join(tmpdir(), 'sv0-cli-'));
  const connector = (n: string, enabled: boolean, extra = '') => `
  - name: ${n}
    enabled: ${enabled}
    image: ${stack().connectorImage}
    args: [--all, --submit, --platform-url, ${platform.containerUrl}]
    interval: 1h
    network: ${TEST_NETWORK}
    timeout: 1m
    retry: { maximumAttempts: 1 }
    environment: { SV0_TEST_CONNECTOR: ${n}${extra} }`;
  // History: one connector prints its secret (the tail must show it redacted), one always fails.
  const histConnectors =
    connector(histOk, true, ', SV0_TEST_PRINT_VAR: HIST_TOKEN') +
    '\n    secrets: [{ type: refs, vars: { HIST_TOKEN: "env:HIST_SECRET" } }]' +
    connector(histFail, true, ', SV0_TEST_EXIT: "3"').replace(
      'retry: { maximumAttempts: 1 }',
      'retry: { maximumAttempts: 2, initialInterval: 1s, backoffCoefficient: 1, maximumInterval: 1s }',
    );
  writeFileSync(
    path.join(configDir, 'connectors.yaml'),
    `platform: { url: "${platform.url}", tokenRef: "env:PLATFORM_TOKEN" }\nhealthCheckEvery: 1h\nconnectors:${connector(name, true)}${connector(disabled, false)}${histConnectors}\n`,
  );
  writeFileSync(path.join(configDir, 'notifications.yaml'), 'sinks: [{ type: log }]\n');
  // The worker's settings as this test's worker has them: the CLI checks connectors.yaml against them.
  writeFileSync(
    path.join(configDir, 'worker.yaml'),
    `secrets: { envNames: [PLATFORM_TOKEN, HIST_SECRET] }\nconnectors: { networks: [${TEST_NETWORK}], images: ["${registryHost(stack().connectorImage)}/"] }\nplatform: { url: "${platform.url}" }\n`,
  );
  await ensureTestNetwork();
  const base = connectorScheduleOptions(
    {
      name: 'x',
      enabled: true,
      image: 'x',
      args: [],
      interval: '1h',
      network: TEST_NETWORK,
      timeout: '1m',
      memoryMb: 64,
      jitter: '1s',
      catchupWindow: '1m',
      retry: { maximumAttempts: 1, initialInterval: '1s', backoffCoefficient: 1, maximumInterval: '1s' },
      pauseAfterFailedRuns: 3,
      environment: {},
      secrets: [],
    },
    {},
  );
  await client.schedule.create({ ...base, scheduleId: unrelated, state: { paused: true } });
  await client.schedule.create({ ...base, scheduleId: leftover, state: { paused: true } });
});

afterAll(async () => {
  await client.workflow
    .getHandle(WorkflowIds.connectorHealth)
    .terminate('test done')
    .catch(() => undefined);
  for (const id of [unrelated, leftover, ...[name, histOk, histFail].map((n) => ScheduleIds.connector(n))])
    await client.schedule
      .getHandle(id)
      .delete()
      .catch(() => undefined);
  await platform?.close();
});

describe('sv0 connectors', () => {
  it('apply refuses to change schedules without --yes when stdin is not a terminal', async () => {
    expect((await sv0('connectors', 'apply')).code).toBe(2);
    await expect(client.schedule.getHandle(ScheduleIds.connector(name)).describe()).rejects.toThrow();
  });

  it('apply creates and deletes connector- schedules to match the file, touches no other schedule, and is idempotent', async () => {
    await runWorker({ env, taskQueue: TaskQueues.connectors, activities: activities() }, async () => {
      const first = await sv0('connectors', 'apply', '--yes', '--json');
      expect(first.code).toBe(0);
      const changes = (first.json() as { changes: { scheduleId: string; action: string }[] }).changes;
      expect(changes).toContainEqual(
        expect.objectContaining({ scheduleId: ScheduleIds.connector(name), action: 'create' }),
      );
      expect(changes).toContainEqual(expect.objectContaining({ scheduleId: leftover, action: 'delete' }));
      expect(changes.some((c) => c.scheduleId === ScheduleIds.connector(disabled))).toBe(false);
      await expect(client.schedule.getHandle(leftover).describe()).rejects.toThrow();
      expect((await client.schedule.getHandle(unrelated).describe()).state.paused).toBe(true);

      const again = await sv0('connectors', 'apply', '--json');
      expect(again.code).toBe(0);
      const actions = (again.json() as { changes: { scheduleId: string; action: string }[] }).changes.filter(
        (c) => c.scheduleId === ScheduleIds.connector(name),
      );
      expect(actions).toEqual([expect.objectContaining({ action: 'unchanged' })]);
    });
  });

  it('run --wait, pause with a reason, status and resume', async () => {
    await runWorker({ env, taskQueue: TaskQueues.connectors, activities: activities() }, async () => {
      const run = await sv0('connectors', 'run', name, '--wait', '--json');
      expect(run.code).toBe(0);
      expect(run.json()).toMatchObject({ connector: name, ok: true, result: { exitCode: 0 } });

      expect((await sv0('connectors', 'pause', name, '--reason', 'platform maintenance')).code).toBe(0);
      const paused = await sv0('connectors', 'status', name, '--json');
      expect(paused.code).toBe(0);
      expect(paused.json()).toMatchObject({
        connector: name,
        schedule: 'paused',
        note: 'platform maintenance',
        lastRun: { status: 'COMPLETED' },
        lastSuccessAt: expect.stringMatching(/Z$/),
        stale: false,
      });

      expect((await sv0('connectors', 'resume', name)).code).toBe(0);
      const list = (await sv0('connectors', 'list', '--json')).json() as {
        connector: string;
        schedule: string;
        nextRunAt?: string;
      }[];
      expect(list.find((r) => r.connector === name)).toMatchObject({
        schedule: 'active',
        nextRunAt: expect.stringMatching(/Z$/),
      });
      expect(list.find((r) => r.connector === disabled)).toMatchObject({
        schedule: 'absent',
        enabled: false,
      });
    });
  });

  it('history: the last runs with start, duration, result, attempts and the redacted log tail', async () => {
    await runWorker({ env, taskQueue: TaskQueues.connectors, activities: activities() }, async () => {
      expect((await sv0('connectors', 'apply', '--yes')).code).toBe(0);
      expect((await sv0('connectors', 'history', histOk, '--json')).json()).toEqual({
        connector: histOk,
        runs: [],
      });
      for (let i = 0; i < 2; i++) expect((await sv0('connectors', 'run', histOk, '--wait')).code).toBe(0);
      expect((await sv0('connectors', 'run', histFail, '--wait')).code).toBe(1);

      const ok = await sv0('connectors', 'history', histOk, '--json');
      expect(ok.code).toBe(0);
      const runs = (ok.json() as { runs: Record<string, unknown>[] }).runs;
      expect(runs).toHaveLength(2);
      expect(runs[0]).toMatchObject({
        result: 'succeeded',
        attempts: 1,
        exitCode: 0,
        startedAt: expect.stringMatching(/Z$/),
        endedAt: expect.stringMatching(/Z$/),
        durationMs: expect.any(Number),
        logTail: expect.arrayContaining(['HIST_TOKEN=[redacted]', 'connector done (exit 0)']),
      });
      expect(String(runs[0]!.startedAt) > String(runs[1]!.startedAt)).toBe(true);
      expect(ok.stdout).not.toContain(histSecret);
      const last = await sv0('connectors', 'history', histOk, '--limit', '1', '--json');
      expect((last.json() as { runs: { workflowId: string }[] }).runs).toEqual([
        expect.objectContaining({ workflowId: runs[0]!.workflowId }),
      ]);

      const failed = await sv0('connectors', 'history', histFail, '--json');
      expect((failed.json() as { runs: unknown[] }).runs).toEqual([
        expect.objectContaining({
          result: 'failed',
          attempts: 2,
          exitCode: 3,
          error: expect.stringMatching(/^Sv0ConnectorFailed: .*exited with code 3/),
          logTail: expect.arrayContaining(['connector done (exit 3)']),
        }),
      ]);

      const text = await sv0('connectors', 'history', histOk);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/STARTED +DURATION +RESULT +ATTEMPTS +WORKFLOW ID/);
      expect(text.stdout).toContain('succeeded');
      expect(text.stderr).toContain('| HIST_TOKEN=[redacted]');
      expect(text.stdout + text.stderr).not.toContain(histSecret);
    });
  });

  it('history refuses an unknown connector naming connectors.yaml, and a bad --limit, with exit 2', async () => {
    const unknown = await sv0('connectors', 'history', 'no-such-connector');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/connectors\.yaml: connectors: no connector named "no-such-connector"/);
    expect((await sv0('connectors', 'history', histOk, '--limit', '0')).code).toBe(2);
    const help = await sv0('connectors', 'history', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--limit <n>/);
    expect(help.stdout).toMatch(/--json/);
  });

  it('refuses a disabled or unknown connector as bad input', async () => {
    expect((await sv0('connectors', 'run', disabled)).code).toBe(2);
    expect((await sv0('connectors', 'pause', 'no-such-connector')).code).toBe(2);
  });

  it('refuses an unknown pull policy with exit 2, naming the file and the field', async () => {
    const bad = mkdtempSync(path.join(tmpdir(), 'sv0-cli-pull-'));
    for (const f of ['notifications.yaml', 'worker.yaml'])
      writeFileSync(path.join(bad, f), readFileSync(path.join(configDir, f)));
    writeFileSync(
      path.join(bad, 'connectors.yaml'),
      readFileSync(path.join(configDir, 'connectors.yaml'), 'utf8').replace(
        `name: ${name}\n`,
        `name: ${name}\n    pull: sometimes\n`,
      ),
    );
    const res = await sv0('--config-dir', bad, 'connectors', 'apply', '--yes');
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/connectors\.yaml: connectors\[0\]\.pull: .*"missing".*"always"/);
  });
});
