import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Notification } from '../../lib/config/notifications';
import { ErrorType, ScheduleIds } from '../../lib/names';
import { createLogger } from '../../lib/runtime/logger';
import { connectorScheduleOptions } from '../../clients/connectors/schedules';
import { connectorHealthWorkflow } from '../../workflows/connectors/health';
import { testConnectorActivities, testConnectorSpec } from '../harness/connectors';
import { startPlatform, type PlatformStandIn } from '../harness/platform';
import { assertNoSecretsLeaked, captureLogs, captureWorkerLogs } from '../harness/secret-scan';
import { registerLogs, registerSecrets } from '../harness/secret-registry';
import { runWorker, testEnv, uniqueId } from '../harness/temporal';
import { testWorkerSettings } from '../harness/worker-settings';

/**
 * No secret in an error (activities/http.ts): a platform token that cannot travel in a header, a
 * webhook URL secret that is not a URL or carries a password, and a request that cannot connect.
 * Node's fetch would put each value into its message (`Headers.append: "<value>" is an invalid
 * header value`, `Failed to parse URL from <value>`, `Request cannot be constructed from a URL
 * that includes credentials: <value>`); the activities check first and report what they were
 * doing and the error's code only. Each case shows fetch's own message holding the canary, so the
 * assertion that ours does not could fail.
 */

const canary = (label: string) => `${label}-${uniqueId('canary')}`;
const TOKEN_LINE_BREAK = `${canary('tokenhead')}\r\nX-Injected: ${canary('crlf')}`;
const TOKEN_NON_LATIN = `tok€${canary('nonlatin')}`;
const URL_NOT_A_URL = `hooks.example/services/T0/B0/${canary('notaurl')}`;
const URL_PASSWORD = canary('urlpassword');
const URL_PATH_SECRET = canary('urlpath');
/** Every canary, a token with a line break as its two lines (each of them must not leak either). */
const CANARIES = [TOKEN_LINE_BREAK, TOKEN_NON_LATIN, URL_NOT_A_URL, URL_PASSWORD, URL_PATH_SECRET].flatMap(
  (c) => c.split(/\r?\n/),
);
registerSecrets(...CANARIES);

let platform: PlatformStandIn;
/** A port nothing listens on (a server was there and closed). */
let closedPort: number;
const logs = captureLogs();
const logger = createLogger('http-test', logs.stream);
const notification: Notification = { event: 'test.event', severity: 'info', title: 'Test', text: 'a test' };

function activities(env: Record<string, string>, platformUrl = platform.url) {
  const settings = testWorkerSettings({
    platformUrl,
    secrets: { envNames: ['PLATFORM_TOKEN', 'WEBHOOK_URL'] },
  });
  return testConnectorActivities({ settings, logger, env });
}

const platformInput = () => ({
  connector: 'entra',
  platform: { url: platform.url, tokenRef: 'env:PLATFORM_TOKEN', syncsPath: '/api/v1/syncs' },
});
const webhookSink = [{ type: 'webhook' as const, name: 'slack', urlRef: 'env:WEBHOOK_URL' }];

/** The error `p` rejects with; fails the test when it resolves. */
async function failure(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as Error,
  );
}

/** fetch's own message (and its cause's) for the same call: where the value would have leaked. */
async function fetchMessage(url: string, init: RequestInit = {}): Promise<string> {
  const err = await failure(fetch(url, init));
  return `${err.message} ${(err.cause as Error | undefined)?.message ?? ''}`;
}

function expectNoCanary(text: string): void {
  for (const c of CANARIES) expect(text).not.toContain(c);
}

beforeAll(async () => {
  platform = await startPlatform({ token: 'the-real-token' });
  const spare = createServer();
  await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve));
  closedPort = (spare.address() as AddressInfo).port;
  await new Promise((resolve) => spare.close(resolve));
});

afterAll(async () => {
  registerLogs(logs.text());
  await platform?.close();
});

describe('no secret in an error', () => {
  it.each([
    ['a line break', TOKEN_LINE_BREAK, true],
    // fetch's own message names only the character's position here, but the header is refused too.
    ['a character outside Latin-1', TOKEN_NON_LATIN, false],
  ])('a platform token with %s fails for good without the token', async (_what, token, fetchRepeatsIt) => {
    const ours = await failure(activities({ PLATFORM_TOKEN: token }).lastPlatformSync(platformInput()));
    expect(ours).toBeInstanceOf(ApplicationFailure);
    expect((ours as ApplicationFailure).nonRetryable).toBe(true);
    expect((ours as ApplicationFailure).type).toBe(ErrorType.SecretUnavailable);
    expect(ours.message).toMatch(
      /platform http:\/\/127\.0\.0\.1:\d+: the token is not usable in an HTTP header/,
    );
    expectNoCanary(ours.message);
    expect(platform.syncQueries).toEqual([]);

    const theirs = await fetchMessage(`${platform.url}/api/v1/syncs`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (fetchRepeatsIt) expect(theirs).toContain(token);
    else expect(theirs).toMatch(/ByteString/);
  });

  it('a webhook URL secret that is not a URL fails for good without the value', async () => {
    const ours = await failure(
      activities({ WEBHOOK_URL: URL_NOT_A_URL }).notify({ notification, sinks: webhookSink }),
    );
    expect(ours.message).toMatch(/webhook sink slack \(env:WEBHOOK_URL\): the secret is not a URL/);
    expectNoCanary(ours.message);
    expect(await fetchMessage(URL_NOT_A_URL)).toContain(URL_NOT_A_URL);
  });

  it('a webhook URL secret with a password fails for good without it', async () => {
    const url = `http://hook:${URL_PASSWORD}@127.0.0.1:${closedPort}/services/T0`;
    const ours = await failure(activities({ WEBHOOK_URL: url }).notify({ notification, sinks: webhookSink }));
    expect(ours.message).toMatch(/the secret is a URL with a user name or password/);
    expectNoCanary(ours.message);
    expect(await fetchMessage(url)).toContain(URL_PASSWORD);
  });

  it('a request that cannot connect keeps its error code, not the URL', async () => {
    const url = `http://127.0.0.1:${closedPort}/services/T0/B0/${URL_PATH_SECRET}`;
    const ours = await failure(activities({ WEBHOOK_URL: url }).notify({ notification, sinks: webhookSink }));
    expect(ours.message).toMatch(
      /webhook sink slack \(env:WEBHOOK_URL\): the request failed \(ECONNREFUSED: nothing listens on that port\)/,
    );
    expectNoCanary(ours.message);

    // The platform's origin is the worker's own setting, not a secret: it may be named.
    const down = `http://127.0.0.1:${closedPort}`;
    const platformDown = await failure(
      activities({ PLATFORM_TOKEN: 'the-real-token' }, down).lastPlatformSync({
        ...platformInput(),
        platform: { ...platformInput().platform, url: down },
      }),
    );
    expect(platformDown.message).toBe(
      `platform ${down}: the request failed (ECONNREFUSED: nothing listens on that port)`,
    );
  });

  it('through a worker: a health check with a bad token and a broken sink leaves neither value in history or logs', async () => {
    const env = await testEnv();
    const workerLogs = captureWorkerLogs();
    const taskQueue = uniqueId('http-secrets');
    const workflowId = uniqueId('health-secrets');
    const name = uniqueId('it-secret');
    try {
      // The health check asks the platform only for connectors whose schedule exists and runs.
      await env.client.schedule.create(
        connectorScheduleOptions(testConnectorSpec(name, platform.containerUrl, { interval: '24h' }), {
          taskQueue: uniqueId('never-polled'),
        }),
      );
      await runWorker(
        {
          env,
          taskQueue,
          activities: activities({ PLATFORM_TOKEN: TOKEN_LINE_BREAK, WEBHOOK_URL: URL_NOT_A_URL }),
        },
        async () => {
          const handle = await env.client.workflow.start(connectorHealthWorkflow, {
            workflowId,
            taskQueue,
            args: [
              {
                config: {
                  connectors: [{ name, interval: '1s', pauseAfterFailedRuns: 3 }],
                  platform: platformInput().platform,
                  checkEvery: '1s',
                  sinks: webhookSink,
                },
              },
            ],
          });
          // The check fails for good (in history at once), then its alert goes to the broken sink,
          // whose failure the notify activity retries: its attempts show on the pending activity.
          const deadline = Date.now() + 60_000;
          for (;;) {
            const pending = (await handle.describe()).raw.pendingActivities ?? [];
            const notifying = pending.find((a) => a.activityType?.name === 'notify');
            if (notifying?.lastFailure?.message?.includes('the secret is not a URL')) {
              expectNoCanary(notifying.lastFailure.message);
              break;
            }
            if (Date.now() > deadline) throw new Error('the alert never reached the broken sink');
            await new Promise((r) => setTimeout(r, 300));
          }
          const history = JSON.stringify((await handle.fetchHistory()).events ?? []);
          expect(history).toContain('the token is not usable in an HTTP header');
          await handle.terminate('test done');
        },
      );
    } finally {
      workerLogs.restore();
      await env.client.schedule
        .getHandle(ScheduleIds.connector(name))
        .delete()
        .catch(() => undefined);
    }
    registerLogs(workerLogs.text());
    const report = await assertNoSecretsLeaked({
      client: env.client,
      secrets: CANARIES,
      logs: [workerLogs.text(), logs.text()],
      query: `WorkflowId = "${workflowId}"`,
    });
    expect(report.histories).toBe(1);
  });
});
