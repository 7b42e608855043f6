import { randomBytes } from 'node:crypto';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBudgetAlertHandler } from '../../../clients/budget/alerts-endpoint';
import { WorkflowIds, WorkflowTypes } from '../../../lib/names';
import { createSnsVerifier, type SnsEnvelope } from '../../../lib/runtime/sns-signature';
import { sv0 } from '../../harness/cli';
import { registerLogs, registerSecrets } from '../../harness/secret-registry';
import { makeTestSigner, signSnsMessage, type TestSigner, type UnsignedSnsMessage } from '../../harness/sns';
import { testEnv, uniqueId } from '../../harness/temporal';

/**
 * `sv0 budget alerts-endpoint` against the dev server: only a message signed by SNS's certificate
 * (here one made for the test, served for an SNS certificate URL), from an allowed topic, signals
 * a budget guard or confirms a subscription. The guard is a workflow started on a task queue no
 * worker polls, so every signal that got through is in its history. Deliveries from moto's SNS
 * are verified in test/workflows/budget/guard.test.ts.
 */
describe('budget alerts endpoint', () => {
  let env: TestWorkflowEnvironment;
  let signer: TestSigner;
  let impostor: TestSigner;
  const budget = uniqueId('alerts');
  const workflowId = WorkflowIds.budget(budget);
  const topic = `arn:aws:sns:us-east-1:123456789012:${uniqueId('sv0-budget-alerts')}`;
  const otherTopic = `arn:aws:sns:us-east-1:123456789012:${uniqueId('other')}`;
  const token = randomBytes(32).toString('hex');
  const confirmed: string[] = [];
  const logs: string[] = [];
  const servers: Server[] = [];

  const subscribeUrl = (arn: string, host = 'sns.us-east-1.amazonaws.com') =>
    `https://${host}/?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(arn)}&Token=${token}`;
  const notification = (extra: Partial<UnsignedSnsMessage> = {}): UnsignedSnsMessage => ({
    Type: 'Notification',
    TopicArn: topic,
    Message: `AWS Budget Notification\nBudget Name: ${budget}\nAlert Type: ACTUAL\nAlert Threshold: > $250.00`,
    ...extra,
  });
  const confirmation = (arn = topic, url = subscribeUrl(arn)): UnsignedSnsMessage => ({
    Type: 'SubscriptionConfirmation',
    TopicArn: arn,
    Message: 'You have chosen to subscribe to the topic',
    SubscribeURL: url,
    Token: token,
  });

  async function serve(handler: RequestListener): Promise<string> {
    const server = createServer(handler);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  }
  const endpoint = (opts: { rateLimit?: { requests: number; perSeconds: number } } = {}) =>
    serve(
      createBudgetAlertHandler(env.client, {
        topicArns: [topic],
        verifier: createSnsVerifier({ download: signer.download }),
        confirm: (url) => {
          confirmed.push(url.href);
          return Promise.resolve({ ok: true, status: 200 });
        },
        log: (line) => logs.push(line),
        ...opts,
      }),
    );
  const post = async (url: string, body: string | SnsEnvelope, init: RequestInit = {}) => {
    const res = await fetch(url, {
      method: 'POST',
      body: typeof body === 'string' ? body : JSON.stringify(body),
      ...init,
    });
    return { status: res.status, text: await res.text() };
  };
  const signals = async () =>
    (await env.client.workflow.getHandle(workflowId).fetchHistory()).events?.filter(
      (e) => e.workflowExecutionSignaledEventAttributes,
    ).length ?? 0;

  beforeAll(async () => {
    env = await testEnv();
    signer = makeTestSigner();
    impostor = makeTestSigner();
    registerSecrets(token);
    // A guard that never runs: no worker polls this queue, so signals stay in its history.
    await env.client.workflow.start(WorkflowTypes.budgetGuard, {
      workflowId,
      taskQueue: uniqueId('no-worker'),
      args: [{}],
    });
  });

  afterAll(async () => {
    for (const s of servers) s.close();
    await env?.client.workflow
      .getHandle(workflowId)
      .terminate('test done')
      .catch(() => undefined);
    registerLogs(logs.join('\n'));
  });

  const forged: [string, () => string | SnsEnvelope, RegExp][] = [
    [
      'an unsigned notification',
      () => {
        const { Signature: _s, SigningCertURL: _u, ...unsigned } = signSnsMessage(signer, notification());
        return JSON.stringify(unsigned);
      },
      /Signature: missing/,
    ],
    ['the bare notification text', () => notification().Message ?? '', /not JSON/],
    [
      'a notification whose Message changed',
      () => ({ ...signSnsMessage(signer, notification()), Message: `Budget Name: ${budget}-other` }),
      /does not match/,
    ],
    [
      'a notification with a Subject added',
      () => ({ ...signSnsMessage(signer, notification()), Subject: 'injected' }),
      /does not match/,
    ],
    [
      'a notification signed by another key',
      () => signSnsMessage(impostor, notification({ SigningCertURL: signer.certUrl })),
      /does not match/,
    ],
    [
      'SignatureVersion 1 claimed for a SHA256 signature',
      () => ({ ...signSnsMessage(signer, notification()), SignatureVersion: '1' }),
      /does not match/,
    ],
    [
      'a signed notification of another topic',
      () => signSnsMessage(signer, notification({ TopicArn: otherTopic })),
      /not an allowed topic/,
    ],
    [
      'a certificate on another host',
      () =>
        signSnsMessage(
          signer,
          notification({
            SigningCertURL: signer.certUrl.replace('sns.us-east-1.amazonaws.com', 'evil.example.com'),
          }),
        ),
      /host evil.example.com/,
    ],
    [
      'a certificate over http',
      () =>
        signSnsMessage(signer, notification({ SigningCertURL: signer.certUrl.replace('https:', 'http:') })),
      /not https/,
    ],
    [
      'a certificate on an SNS look-alike host',
      () =>
        signSnsMessage(
          signer,
          notification({
            SigningCertURL: signer.certUrl.replace('amazonaws.com', 'amazonaws.com.evil.example'),
          }),
        ),
      /is not sns/,
    ],
    [
      'a confirmation whose Token changed',
      () => ({ ...signSnsMessage(signer, confirmation()), Token: 'f'.repeat(64) }),
      /does not match/,
    ],
    [
      'a signed confirmation of another topic',
      () => signSnsMessage(signer, confirmation(otherTopic)),
      /not an allowed topic/,
    ],
    [
      'a signed confirmation to another host',
      () => signSnsMessage(signer, confirmation(topic, subscribeUrl(topic, 'evil.example.com'))),
      /host evil.example.com/,
    ],
    [
      'a signed confirmation of another topic’s URL',
      () => signSnsMessage(signer, confirmation(topic, subscribeUrl(otherTopic))),
      /ConfirmSubscription of the message's topic/,
    ],
  ];

  it.each(forged)('answers 403 to %s and changes nothing', async (_name, body, reason) => {
    const url = await endpoint();
    const downloadsBefore = signer.download.calls.length;
    const res = await post(url, body());
    expect(res.status).toBe(403);
    expect(res.text).toMatch(reason);
    expect(res.text).not.toContain(token);
    expect(await signals()).toBe(0);
    expect(confirmed).toEqual([]);
    // A message naming a foreign certificate host or topic never makes the endpoint download.
    if (/SigningCertURL:|TopicArn:/.test(res.text))
      expect(signer.download.calls.length).toBe(downloadsBefore);
  });

  it('refuses what is not a POST, too large (declared or streamed) or over the rate limit', async () => {
    const url = await endpoint({ rateLimit: { requests: 2, perSeconds: 3600 } });
    expect((await fetch(url)).status).toBe(405);
    const big = JSON.stringify(
      signSnsMessage(signer, notification({ Message: `Budget Name: ${budget}\n${'x'.repeat(70_000)}` })),
    );
    expect((await post(url, big)).status).toBe(413);
    const streamed = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode(big));
        c.close();
      },
    });
    expect((await post(url, '', { body: streamed, duplex: 'half' } as RequestInit)).status).toBe(413);
    const limited = await post(url, signSnsMessage(signer, notification()));
    expect(limited.status).toBe(429);
    expect(await signals()).toBe(0);
  });

  it('signals the guard for a signed notification (SignatureVersion 1 and 2), confirms a signed subscription, ignores the rest', async () => {
    const url = await endpoint();
    const downloadsBefore = signer.download.calls.length;
    const v1 = await post(url, signSnsMessage(signer, notification({ SignatureVersion: '1' })));
    expect(v1).toEqual({ status: 202, text: `signalled ${workflowId}\n` });
    const v2 = await post(
      url,
      signSnsMessage(
        signer,
        notification({ Subject: `AWS Budgets: ${budget} has exceeded your alert threshold` }),
      ),
    );
    expect(v2.status).toBe(202);
    expect(await signals()).toBe(2);

    const confirm = await post(url, signSnsMessage(signer, confirmation()));
    expect(confirm.status).toBe(200);
    expect(confirmed).toEqual([subscribeUrl(topic)]);
    expect(confirm.text).not.toContain(token);

    const unsubscribed = await post(
      url,
      signSnsMessage(signer, { ...confirmation(), Type: 'UnsubscribeConfirmation' }),
    );
    expect(unsubscribed.text).toMatch(/^ignored: unsubscribed/);
    const other = await post(url, signSnsMessage(signer, notification({ Message: 'Cost anomaly detected' })));
    expect(other).toMatchObject({
      status: 200,
      text: expect.stringMatching(/^ignored: the message names no budget/),
    });
    const unknown = await post(
      url,
      signSnsMessage(signer, notification({ Message: 'Budget Name: no-such-budget' })),
    );
    expect(unknown.status).toBe(404);
    expect(await signals()).toBe(2);
    expect(confirmed).toHaveLength(1);
    // One download for all of these: the certificate is cached by URL.
    expect(signer.download.calls.length - downloadsBefore).toBe(1);
    expect(logs.join('\n')).not.toContain(token);
  });

  it.each([
    [[], /--topic-arn: name the SNS topic/],
    [
      ['--topic-arn', 'arn:aws:sqs:us-east-1:123456789012:q'],
      /--topic-arn: "arn:aws:sqs:.*" is not an SNS topic ARN/,
    ],
    [['--listen', 'nowhere'], /--listen: "nowhere" is not host:port/],
  ])('`sv0 budget alerts-endpoint %s` is bad usage (exit 2) before it listens', async (args, message) => {
    const { code, stderr } = await sv0('budget', 'alerts-endpoint', ...args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });
});
