import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { CreateRoleCommand, GetRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import {
  CreateBucketCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutBucketTaggingCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  ListSecretsCommand,
} from '@aws-sdk/client-secrets-manager';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTagged, tagClients } from '../../../activities/demo/tagged-resources';
import type { AwsClientConfig } from '../../../lib/runtime/aws';
import { GetFunctionCommand, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import { demoAssetBucketName } from '../../../activities/demo/assets';
import { destroyDemo, listDemos, moveDemoExpiry, startDemo } from '../../../clients/demo/lifecycle';
import { DemoSearchAttributes, statusQuery, type DemoSummary } from '../../../lib/contracts/demo';
import { ErrorType, Tags } from '../../../lib/names';
import { startWebhookReceiver } from '../../harness/webhook';
import { fakeCostExplorer } from '../../harness/org-fixtures';
import { HISTORIES_DIR, historyToJsonText, type History } from '../../../scripts/histories';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runWorker, testEnv, uniqueId } from '../../harness/temporal';
import {
  accountClients,
  demoInput,
  demoTestActivities,
  denyingS3,
  eventually,
  notificationEvents,
  scheduledActivities,
  setUpDemoOrg,
  type DemoOrg,
} from '../../harness/demo-fixture';

/** With SV0_WRITE_HISTORIES=1, keep a history for the replay test (test/replay.test.ts). */
function writeHistory(name: string, history: History): void {
  if (process.env.SV0_WRITE_HISTORIES === '1')
    writeFileSync(path.join(HISTORIES_DIR, `${name}.json`), historyToJsonText(history));
}

/**
 * Demo lifecycles against the real dev server and moto (multi-account: the workflow assumes the
 * deploy role into the sandbox account; inspection goes straight to that account). TTLs are
 * seconds; assertions are on the order of events, never on exact times.
 */
describe('demo lifecycle', () => {
  let env: TestWorkflowEnvironment;
  let org: DemoOrg;
  let webhook: Awaited<ReturnType<typeof startWebhookReceiver>>;

  beforeAll(async () => {
    env = await testEnv();
    org = await setUpDemoOrg();
    webhook = await startWebhookReceiver();
  });
  afterAll(async () => {
    await webhook?.close();
  });

  const demoTags = (id: string) => [
    { Key: Tags.ephemeral, Value: 'true' },
    { Key: Tags.demo, Value: id },
  ];
  const stillTagged = (id: string) =>
    findTagged(accountClients(org.demoAccountId), Tags.demo, (t) => t[Tags.demo] === id);
  const assetBucket = (id: string) => demoAssetBucketName(id, org.demoAccountId);
  const phaseOf = async (id: string) =>
    (await env.client.workflow.getHandle(`demo-${id}`).query(statusQuery)).phase;

  it('deploys into the sandbox account, is listed, warns, expires on its TTL, leaves nothing tagged and gives its cost (Cost Explorer through the thin fake at the SDK-client boundary)', async () => {
    const id = uniqueId('ttl');
    const taskQueue = uniqueId('demo');
    const cost = fakeCostExplorer([]);
    cost.state.demoCosts[id] = 0.4271;
    const activities = demoTestActivities(env, webhook, { ce: cost.ce });
    const summary = await runWorker({ env, taskQueue, activities }, async () => {
      // The TTL counts from the start, deploy included: long enough to observe the running demo on a busy machine.
      const handle = await startDemo(env.client, demoInput(org, { id, ttlMs: 45_000, warnBeforeMs: 3000 }), {
        taskQueue,
      });
      await eventually(async () => (await phaseOf(id)) === 'running', 'demo running');
      const status = await handle.query(statusQuery);
      expect(status.outputs.ReadOnlyRoleArn).toBe(
        `arn:aws:iam::${org.demoAccountId}:role/SecurityV0-ReadOnly`,
      );
      expect(status.resources.map((r) => r.type)).toContain('AWS::Lambda::Function');
      // The CDK app's Lambda code came from its asset, in the demo's own bucket in the sandbox account.
      const c = accountClients(org.demoAccountId);
      const role = await c.iam.send(new GetRoleCommand({ RoleName: 'SecurityV0-ReadOnly' }));
      expect(role.Role?.Arn).toBe(status.outputs.ReadOnlyRoleArn);
      const fn = await c.lambda.send(
        new GetFunctionCommand({ FunctionName: status.outputs.ClaimsFunctionName }),
      );
      expect(fn.Code?.Location ?? fn.Configuration?.CodeSha256).toBeTruthy();
      const assets = await c.s3.send(new ListObjectsV2Command({ Bucket: assetBucket(id) }));
      expect(assets.Contents?.map((o) => o.Key)).toEqual([expect.stringMatching(/^[0-9a-f]{64}\.zip$/)]);
      // The stack lives in the sandbox account, tagged for teardown and the sweep.
      const stack = (
        await accountClients(org.demoAccountId).cloudformation.send(
          new DescribeStacksCommand({ StackName: status.stackName }),
        )
      ).Stacks?.[0];
      expect(Object.fromEntries((stack?.Tags ?? []).map((t) => [t.Key, t.Value]))).toMatchObject({
        [Tags.ephemeral]: 'true',
        [Tags.ttl]: '45s',
        [Tags.demo]: id,
        [Tags.owner]: 'demo-script',
        // What the tag policy expects of every demo, added by the worker's deploy activity.
        [Tags.environment]: 'demo',
        [Tags.project]: 'demo-cross-account-trust',
      });
      const listed = await eventually(
        async () => (await listDemos(env.client)).find((d) => d.id === id),
        'demo listed',
      );
      expect(listed).toMatchObject({
        scenario: 'cross-account-trust',
        owner: 'demo-script',
        accountId: org.demoAccountId,
      });
      return (await handle.result()) as DemoSummary;
    });

    expect(summary.phase).toBe('destroyed');
    expect(summary.leftovers).toEqual([]);
    expect(await stillTagged(id)).toEqual([]);
    // Nothing left: the fixed-name role went with the stack, the asset bucket with the sweep.
    expect(summary.deleted).toEqual([{ arn: `arn:aws:s3:::${assetBucket(id)}`, type: 's3:bucket' }]);
    const c = accountClients(org.demoAccountId);
    await expect(c.iam.send(new GetRoleCommand({ RoleName: 'SecurityV0-ReadOnly' }))).rejects.toThrow(
      /not found|NoSuchEntity/,
    );
    await expect(c.s3.send(new HeadBucketCommand({ Bucket: assetBucket(id) }))).rejects.toThrow();
    const history = await env.client.workflow.getHandle(`demo-${id}`).fetchHistory();
    expect(scheduledActivities(history.events)).toEqual([
      'checkDemoTarget',
      'deployDemoScenario',
      'waitForDemoStackCreated',
      'describeDemoStack',
      'notify',
      'notify',
      'deleteDemoStack',
      'sweepDemoResources',
      'listDemoResources',
      'readDemoCost',
      'notify',
    ]);
    // Expiry came from a timer firing, not from a request.
    expect(history.events?.some((e) => e.timerFiredEventAttributes)).toBe(true);
    expect(notificationEvents(webhook, id)).toEqual(['demo.ready', 'demo.expiring', 'demo.destroyed']);
    // The external id is resolved inside the activity and never enters history.
    expect(JSON.stringify(history)).not.toContain('sv0-test-external-id');
    // Its cost so far, by its sv0:demo tag in its account, from the day it started: labelled delayed.
    const today = new Date().toISOString().slice(0, 10);
    expect(summary.cost).toEqual({
      amount: 0.43,
      currency: 'USD',
      from: today,
      through: today,
      delayed: true,
    });
    expect(cost.state.costQueries.map((q) => q.Filter)).toEqual([
      {
        And: [
          { Dimensions: { Key: 'LINKED_ACCOUNT', Values: [org.demoAccountId] } },
          { Tags: { Key: Tags.demo, Values: [id], MatchOptions: ['EQUALS'] } },
        ],
      },
    ]);
    const destroyed = webhook.received
      .map((r) => r.body as { event?: string; text?: string; fields?: Record<string, unknown> })
      .find((b) => b.event === 'demo.destroyed' && b.fields?.demo === id);
    expect(destroyed?.text).toContain(`Cost so far: $0.43 from ${today} through ${today} (delayed:`);
    writeHistory('demo-lifecycle-app-expired', history);
    writeHistory('demo-lifecycle-cost', history);
  });

  it('extend and shorten move the expiry and its search attribute; extend past the maximum is rejected and changes nothing; destroyNow tears down at once', async () => {
    const id = uniqueId('move');
    const taskQueue = uniqueId('demo');
    const activities = demoTestActivities(env, webhook);
    await runWorker({ env, taskQueue, activities }, async () => {
      const handle = await startDemo(env.client, demoInput(org, { id, ttlMs: 120_000, maxTtlMs: 180_000 }), {
        taskQueue,
      });
      await eventually(async () => (await phaseOf(id)) === 'running', 'demo running');
      const before = await handle.query(statusQuery);

      const extended = await moveDemoExpiry(env.client, id, 'extend', '30s');
      expect(Date.parse(extended) - Date.parse(before.expiresAt)).toBe(30_000);
      await eventually(
        async () =>
          (await handle.describe()).typedSearchAttributes
            .get(DemoSearchAttributes.expiresAt)
            ?.toISOString() === extended,
        'Sv0ExpiresAt follows extend',
      );

      const tooFar = moveDemoExpiry(env.client, id, 'extend', '1h');
      await expect(tooFar).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
      await expect(tooFar).rejects.toSatisfy((e: WorkflowUpdateFailedError) =>
        /past its maximum/.test(String(e.cause?.message)),
      );
      expect((await handle.query(statusQuery)).expiresAt).toBe(extended);

      const shortened = await moveDemoExpiry(env.client, id, 'shorten', '10s');
      expect(Date.parse(extended) - Date.parse(shortened)).toBe(10_000);
      await expect(moveDemoExpiry(env.client, id, 'shorten', '1d')).rejects.toBeInstanceOf(
        WorkflowUpdateFailedError,
      );
      await expect(moveDemoExpiry(env.client, id, 'extend', '2 hours')).rejects.toThrow(/not a duration/);

      expect(await destroyDemo(env.client, id, 'demo done early')).toBe('running');
      const summary = (await handle.result()) as DemoSummary;
      expect(summary).toMatchObject({ phase: 'destroyed', destroyReason: 'demo done early', leftovers: [] });
      // Torn down at once: no expiry warning, no timer fired before teardown.
      expect(notificationEvents(webhook, id)).toEqual(['demo.ready', 'demo.destroyed']);
      const events = (await handle.fetchHistory()).events ?? [];
      expect(events.some((e) => e.timerFiredEventAttributes)).toBe(false);
      const accepted = events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length;
      expect(accepted).toBe(3); // extend, shorten, destroyNow; the rejected ones left no event
      writeHistory('demo-lifecycle-app-extend-destroy', await handle.fetchHistory());
    });
    expect(await stillTagged(id)).toEqual([]);
  });

  it('refuses a second live cross-account-trust demo in the account: its role name is fixed', async () => {
    const first = uniqueId('trust-a');
    const second = uniqueId('trust-b');
    const taskQueue = uniqueId('demo');
    await runWorker({ env, taskQueue, activities: demoTestActivities(env, webhook) }, async () => {
      const a = await startDemo(env.client, demoInput(org, { id: first, ttlMs: 120_000 }), { taskQueue });
      await eventually(async () => (await phaseOf(first)) === 'running', 'first demo running');
      const b = await startDemo(env.client, demoInput(org, { id: second, ttlMs: 120_000 }), { taskQueue });
      const err = await b.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
      expect(cause.message).toContain(
        `role SecurityV0-ReadOnly already exists in account ${org.demoAccountId} (demo ${first} holds it)`,
      );
      // The refusal changed nothing of the first demo's.
      expect(await phaseOf(first)).toBe('running');
      const role = await accountClients(org.demoAccountId).iam.send(
        new GetRoleCommand({ RoleName: 'SecurityV0-ReadOnly' }),
      );
      expect(role.Role).toBeDefined();
      await destroyDemo(env.client, first, 'test done');
      expect(((await a.result()) as DemoSummary).phase).toBe('destroyed');
    });
    expect(await stillTagged(second)).toEqual([]);
  });

  it('sweeps a tagged bucket and IAM role made outside the stack', async () => {
    const id = uniqueId('left');
    const taskQueue = uniqueId('demo');
    const c = accountClients(org.demoAccountId);
    const bucket = `${id}-leftover`;
    const role = `${id}-leftover-role`;
    const summary = await runWorker(
      { env, taskQueue, activities: demoTestActivities(env, webhook) },
      async () => {
        const handle = await startDemo(env.client, demoInput(org, { id, ttlMs: 120_000 }), { taskQueue });
        await eventually(async () => (await phaseOf(id)) === 'running', 'demo running');
        await c.s3.send(new CreateBucketCommand({ Bucket: bucket }));
        await c.s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: demoTags(id) } }));
        await c.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'data.txt', Body: 'x' }));
        await c.iam.send(
          new CreateRoleCommand({
            RoleName: role,
            AssumeRolePolicyDocument: '{"Version":"2012-10-17","Statement":[]}',
            Tags: demoTags(id),
          }),
        );
        await c.iam.send(
          new PutRolePolicyCommand({
            RoleName: role,
            PolicyName: 'inline',
            PolicyDocument:
              '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}',
          }),
        );
        expect((await stillTagged(id)).map((r) => r.type).sort()).toEqual([
          'cloudformation:stack',
          'iam:role',
          's3:bucket',
          's3:bucket',
        ]);
        await destroyDemo(env.client, id, 'test leftovers');
        return (await handle.result()) as DemoSummary;
      },
    );
    expect(summary.deleted.map((r) => r.arn).sort()).toEqual(
      [
        `arn:aws:iam::${org.demoAccountId}:role/${role}`,
        `arn:aws:s3:::${bucket}`,
        `arn:aws:s3:::${assetBucket(id)}`,
      ].sort(),
    );
    expect(summary.leftovers).toEqual([]);
    expect(await stillTagged(id)).toEqual([]);
    // The summary says what was created, how long it lived and what was swept.
    const done = webhook.received
      .map((r) => r.body as { event?: string; text?: string; fields?: Record<string, unknown> })
      .find((b) => b.event === 'demo.destroyed' && b.fields?.demo === id);
    expect(done?.text).toMatch(/Reason: test leftovers\. Lived [0-9]+[smhd]\./);
    expect(done?.text).toContain('AWS::Lambda::Function');
    expect(done?.text).toContain(`arn:aws:s3:::${bucket}`);
    expect(done?.fields).toMatchObject({ swept: 3, leftovers: 0 });
  });

  it("github-to-runtime: deploys the CDK app, and teardown leaves nothing, its secret included (made here as AWS would: moto's CloudFormation makes none)", async () => {
    const id = uniqueId('g2r');
    const taskQueue = uniqueId('demo');
    const c = accountClients(org.demoAccountId);
    const secrets: string[] = [];
    const summary = await runWorker(
      { env, taskQueue, activities: demoTestActivities(env, webhook) },
      async () => {
        const handle = await startDemo(
          env.client,
          demoInput(org, { id, scenario: 'github-to-runtime', ttlMs: 120_000 }),
          { taskQueue },
        );
        await eventually(async () => (await phaseOf(id)) === 'running', 'demo running');
        const { outputs, resources } = await handle.query(statusQuery);
        expect(outputs.DeploySettingsName).toBe(`sv0-demo-${id}-deploy-settings`);
        expect(resources.map((r) => r.type)).toEqual(
          expect.arrayContaining([
            'AWS::StepFunctions::StateMachine',
            'AWS::Events::Rule',
            'AWS::Lambda::Function',
          ]),
        );
        // The stack's tags reach its secret in AWS; a stack deleted with a recovery window would
        // leave the secret scheduled for deletion, which still exists under its name.
        for (const name of [outputs.DeploySettingsName!, `${outputs.DeploySettingsName!}-pending`]) {
          const made = await c.secretsmanager.send(
            new CreateSecretCommand({ Name: name, SecretString: '{"token":"x"}', Tags: demoTags(id) }),
          );
          secrets.push(made.ARN!);
        }
        await c.secretsmanager.send(
          new DeleteSecretCommand({ SecretId: secrets[1], RecoveryWindowInDays: 7 }),
        );
        await destroyDemo(env.client, id, 'test secret');
        return (await handle.result()) as DemoSummary;
      },
    );
    expect(summary.phase).toBe('destroyed');
    expect(summary.leftovers).toEqual([]);
    expect(summary.deleted.map((r) => r.arn).sort()).toEqual(
      [...secrets, `arn:aws:s3:::${assetBucket(id)}`].sort(),
    );
    expect(summary.deleted.filter((r) => r.type === 'secretsmanager:secret')).toHaveLength(2);
    const left = await c.secretsmanager.send(
      new ListSecretsCommand({
        IncludePlannedDeletion: true,
        Filters: [{ Key: 'name', Values: [`sv0-demo-${id}`] }],
      }),
    );
    expect(left.SecretList ?? []).toEqual([]);
    expect(await stillTagged(id)).toEqual([]);
  });

  it('reports a tagged resource it cannot delete (a deletion-protected table) and fails with LeftoversRemain', async () => {
    const id = uniqueId('stuck');
    const taskQueue = uniqueId('demo');
    const c = accountClients(org.demoAccountId);
    const table = `${id}-protected`;
    const err = await runWorker(
      { env, taskQueue, activities: demoTestActivities(env, webhook) },
      async () => {
        const handle = await startDemo(env.client, demoInput(org, { id, ttlMs: 120_000 }), { taskQueue });
        await eventually(async () => (await phaseOf(id)) === 'running', 'demo running');
        await c.dynamodb.send(
          new CreateTableCommand({
            TableName: table,
            BillingMode: 'PAY_PER_REQUEST',
            AttributeDefinitions: [{ AttributeName: 'k', AttributeType: 'S' }],
            KeySchema: [{ AttributeName: 'k', KeyType: 'HASH' }],
            DeletionProtectionEnabled: true,
            Tags: demoTags(id),
          }),
        );
        await destroyDemo(env.client, id, 'test stuck');
        return handle.result().then(
          () => undefined,
          (e: unknown) => e,
        );
      },
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe(ErrorType.LeftoversRemain);
    expect(cause.message).toContain(`table/${table}`);
    expect(notificationEvents(webhook, id)).toEqual(['demo.ready', 'demo.leftovers']);
    const left = await stillTagged(id);
    expect(left.map((r) => r.type)).toEqual(['dynamodb:table']);
  });

  it("a teardown AWS keeps refusing is bounded: the demo ends failed with a critical notification naming what is left (GetBucketTagging denied at the SDK-client boundary for a bucket named as the demo's, as a bucket with a deny policy does: moto enforces none)", async () => {
    const id = uniqueId('denied');
    const taskQueue = uniqueId('demo');
    // Named like the demo's own buckets (sv0-demo-<id>-...): teardown cannot tell it is not one.
    const denied = `sv0-demo-${id}-elsewhere`;
    await accountClients(org.demoAccountId).s3.send(new CreateBucketCommand({ Bucket: denied }));
    const makeClients = denyingS3(denied);
    const err = await runWorker(
      { env, taskQueue, activities: demoTestActivities(env, webhook, { makeClients }) },
      async () => {
        const handle = await startDemo(env.client, demoInput(org, { id, ttlMs: 120_000 }), { taskQueue });
        await eventually(async () => (await phaseOf(id)) === 'running', 'demo running');
        await destroyDemo(env.client, id, 'test denied');
        const failed = await handle.result().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(await phaseOf(id)).toBe('failed');
        return failed;
      },
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe(ErrorType.LeftoversRemain);
    const sent = webhook.received
      .map((r) => r.body as { event: string; severity: string; text: string; fields: { demo?: string } })
      .filter((b) => b.fields?.demo === id);
    expect(sent.map((b) => b.event)).toEqual(['demo.ready', 'demo.leftovers']);
    const leftovers = sent[1]!;
    expect(leftovers.severity).toBe('critical');
    // AWS's error code survives into the failure (Temporal would name it after the error's class).
    expect(leftovers.text).toContain('sweep of the demo tag gave up: AccessDenied: Access Denied');
    expect(leftovers.text).toContain('listing of what is left gave up: AccessDenied: Access Denied');
    expect(leftovers.text).toContain(`Still there: stack sv0-demo-${id} (not listed)`);
  }, 180_000);

  it("an unrelated bucket whose tags cannot be read (denied at the SDK-client boundary) does not stop a teardown: only the demo's own buckets must be readable", async () => {
    const id = uniqueId('other');
    const taskQueue = uniqueId('demo');
    const unrelated = `${id}-elsewhere`;
    await accountClients(org.demoAccountId).s3.send(new CreateBucketCommand({ Bucket: unrelated }));
    await runWorker(
      {
        env,
        taskQueue,
        activities: demoTestActivities(env, webhook, { makeClients: denyingS3(unrelated) }),
      },
      async () => {
        const handle = await startDemo(env.client, demoInput(org, { id, ttlMs: 120_000 }), { taskQueue });
        await eventually(async () => (await phaseOf(id)) === 'running', 'demo running');
        await destroyDemo(env.client, id, 'test unrelated bucket');
        await handle.result();
        expect(await phaseOf(id)).toBe('destroyed');
      },
    );
    expect(notificationEvents(webhook, id)).toEqual(['demo.ready', 'demo.destroyed']);
    expect(await stillTagged(id)).toEqual([]);
    expect(
      await accountClients(org.demoAccountId)
        .s3.send(new HeadBucketCommand({ Bucket: unrelated }))
        .then(() => true),
    ).toBe(true);
  }, 180_000);

  it('a cancelled demo is still torn down before the workflow ends as cancelled', async () => {
    const id = uniqueId('cancel');
    const taskQueue = uniqueId('demo');
    const err = await runWorker(
      { env, taskQueue, activities: demoTestActivities(env, webhook) },
      async () => {
        const handle = await startDemo(env.client, demoInput(org, { id, ttlMs: 120_000 }), { taskQueue });
        await eventually(async () => (await phaseOf(id)) === 'running', 'demo running');
        await handle.cancel();
        return handle.result().then(
          () => undefined,
          (e: unknown) => e,
        );
      },
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(notificationEvents(webhook, id)).toEqual(['demo.ready', 'demo.destroyed']);
    expect(await stillTagged(id)).toEqual([]);
  });

  it('tears a failed deploy down at once and reports it (CREATE_FAILED injected at the SDK-client boundary: moto never fails a create)', async () => {
    const id = uniqueId('bad');
    const taskQueue = uniqueId('demo');
    // moto creates the stack and its resources for real; only DescribeStacks is made to answer
    // CREATE_FAILED until the workflow deletes the stack, as AWS does when a resource fails.
    let deleting = false;
    const makeClients = (config: AwsClientConfig) => {
      const clients = tagClients(config);
      clients.cloudformation.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'DeleteStackCommand') deleting = true;
          const out = await next(args);
          const stacks = (out.output as { Stacks?: { StackStatus?: string }[] }).Stacks;
          if (!deleting && context.commandName === 'DescribeStacksCommand' && stacks?.[0])
            stacks[0].StackStatus = 'CREATE_FAILED';
          return out;
        },
        { step: 'initialize', name: 'injectCreateFailed' },
      );
      return clients;
    };
    const err = await runWorker(
      { env, taskQueue, activities: demoTestActivities(env, webhook, { makeClients }) },
      async () => {
        const handle = await startDemo(env.client, demoInput(org, { id, ttlMs: 120_000 }), { taskQueue });
        return handle.result().then(
          () => undefined,
          (e: unknown) => e,
        );
      },
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe(ErrorType.StackFailed);
    expect(cause.message).toMatch(
      /deploy failed and was torn down: stack sv0-demo-bad-[0-9a-f]+ did not create/,
    );
    const history = await env.client.workflow.getHandle(`demo-${id}`).fetchHistory();
    expect(scheduledActivities(history.events)).toEqual([
      'checkDemoTarget',
      'deployDemoScenario',
      'waitForDemoStackCreated',
      'deleteDemoStack',
      'sweepDemoResources',
      'listDemoResources',
      'readDemoCost',
      'notify',
    ]);
    expect(notificationEvents(webhook, id)).toEqual(['demo.destroyed']);
    expect(await stillTagged(id)).toEqual([]);
    // The stack's resources went with it.
    const functions = await accountClients(org.demoAccountId).lambda.send(new ListFunctionsCommand({}));
    expect((functions.Functions ?? []).filter((f) => f.FunctionName?.includes(id))).toEqual([]);
  });
});
