import { CreateStackCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CreateAccountAliasCommand, CreateRoleCommand, GetRoleCommand } from '@aws-sdk/client-iam';
import { CreateLogGroupCommand, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { CreateSecretCommand, ListSecretsCommand } from '@aws-sdk/client-secrets-manager';
import { ListFunctionsCommand } from '@aws-sdk/client-lambda';
import {
  CreateTopicCommand,
  GetTopicAttributesCommand,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-sns';
import { CreateBucketCommand, HeadBucketCommand, PutBucketTaggingCommand } from '@aws-sdk/client-s3';
import { tagClients } from '../../../activities/demo/tagged-resources';
import { allowedRegions } from '../../../lib/config/region-lock';
import { loadOrgConfig } from '../../../lib/runtime/config';
import { motoConfig } from '../../harness/aws';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyDemo, listDemos, startDemo } from '../../../clients/demo/lifecycle';
import { buildSweepInput, runSweep } from '../../../clients/demo/sweep';
import type { DeployAccess, DemoSweepResult } from '../../../lib/contracts/demo';
import { ErrorType, Roles, Tags } from '../../../lib/names';
import { recordHistory } from '../../harness/record-history';
import { startWebhookReceiver } from '../../harness/webhook';
import { runWorker, testEnv, uniqueId } from '../../harness/temporal';
import {
  accountClients,
  CONFIG_DIR,
  demoInput,
  demoTestActivities,
  denyingS3,
  eventually,
  EXTERNAL_ID_REF,
  setUpDemoOrg,
  type DemoOrg,
} from '../../harness/demo-fixture';

/**
 * The nightly sweep against moto and the dev server. Resources cannot be backdated in moto, so
 * "old" means past a one-second `sv0:ttl` tag, and "young" is younger than the default 12 hours.
 */
/** A stack with a Lambda function and its role, code inline: what a forgotten demo stack leaves. */
const FUNCTION_TEMPLATE = JSON.stringify({
  Resources: {
    Role: {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
          ],
        },
      },
    },
    Fn: {
      Type: 'AWS::Lambda::Function',
      Properties: {
        Runtime: 'nodejs22.x',
        Handler: 'index.handler',
        Role: { 'Fn::GetAtt': ['Role', 'Arn'] },
        Code: { ZipFile: 'exports.handler = async () => ({});' },
      },
    },
  },
});

describe('nightly demo sweep', () => {
  let env: TestWorkflowEnvironment;
  let org: DemoOrg;
  let webhook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  const taskQueue = uniqueId('sweep');
  const names = {
    old: uniqueId('old-eph'),
    untagged: uniqueId('untagged'),
    perm: uniqueId('perm'),
    owned: uniqueId('owned'),
    young: uniqueId('young'),
  };
  const oldRole = uniqueId('old-role');
  const oldStack = uniqueId('old-stack');

  const tags = (t: Record<string, string>) => Object.entries(t).map(([Key, Value]) => ({ Key, Value }));
  const bucket = async (accountId: string, name: string, t?: Record<string, string>) => {
    const c = accountClients(accountId);
    await c.s3.send(new CreateBucketCommand({ Bucket: name }));
    if (t) await c.s3.send(new PutBucketTaggingCommand({ Bucket: name, Tagging: { TagSet: tags(t) } }));
  };
  /**
   * An old ephemeral bucket in sv0-demo whose tags cannot be read, and the clients that deny them
   * ({@link denyingS3}: a fake at the SDK-client boundary).
   */
  const deniedBucket = async () => {
    const denied = uniqueId('denied');
    await bucket(org.demoAccountId, denied, { [Tags.ephemeral]: 'true', [Tags.ttl]: '1s' });
    return { denied, makeClients: denyingS3(denied) };
  };
  const bucketExists = (accountId: string, name: string) =>
    accountClients(accountId)
      .s3.send(new HeadBucketCommand({ Bucket: name }))
      .then(
        () => true,
        () => false,
      );
  const target = (accountId: string, accountName: string): DeployAccess => ({
    accountId,
    accountName,
    roleName: Roles.deploy,
    externalIdRef: EXTERNAL_ID_REF,
  });
  const sweep = (
    accounts: DeployAccess[],
    apply: boolean,
    runningDemoIds?: string[],
    workflowId = uniqueId('sweep'),
  ) =>
    runSweep(
      env.client,
      {
        ...buildSweepInput({
          targets: accounts,
          managementAccountId: org.managementAccountId,
          org: org.org,
          notifications: { sinks: [{ type: 'webhook', name: 'test', urlRef: 'env:SV0_TEST_DEMO_WEBHOOK' }] },
          apply,
        }),
        ...(runningDemoIds ? { runningDemoIds } : {}),
      },
      { taskQueue, workflowId },
    );
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected the sweep to fail');
      },
      (e: unknown) => {
        expect(e).toBeInstanceOf(WorkflowFailedError);
        return (e as WorkflowFailedError).cause as ApplicationFailure;
      },
    );

  beforeAll(async () => {
    env = await testEnv();
    org = await setUpDemoOrg();
    webhook = await startWebhookReceiver();
    const eph = { [Tags.ephemeral]: 'true' };
    await bucket(org.demoAccountId, names.old, { ...eph, [Tags.ttl]: '1s' });
    await bucket(org.demoAccountId, names.untagged);
    await bucket(org.demoAccountId, names.perm, { ...eph, [Tags.ttl]: 'permanent' });
    await bucket(org.demoAccountId, names.owned, { ...eph, [Tags.ttl]: '1s', [Tags.demo]: 'still-running' });
    await bucket(org.demoAccountId, names.young, eph);
    const c = accountClients(org.demoAccountId);
    await c.iam.send(
      new CreateRoleCommand({
        RoleName: oldRole,
        AssumeRolePolicyDocument: '{"Version":"2012-10-17","Statement":[]}',
        Tags: tags({ ...eph, [Tags.ttl]: '1s' }),
      }),
    );
    await c.cloudformation.send(
      new CreateStackCommand({
        StackName: oldStack,
        TemplateBody: FUNCTION_TEMPLATE,
        Tags: tags({ ...eph, [Tags.ttl]: '1s' }),
        Capabilities: ['CAPABILITY_IAM'],
      }),
    );
    // Old ephemeral resources in accounts the sweep must refuse.
    for (const id of [
      org.managementAccountId,
      org.platformAccountId,
      org.unlistedAccountId,
      org.prodAccountId,
    ]) {
      await bucket(id, `guarded-${id}`, { ...eph, [Tags.ttl]: '1s' });
    }
    // Let the one-second TTLs pass.
    await new Promise((r) => setTimeout(r, 1500));
  });
  afterAll(async () => {
    await webhook?.close();
  });

  it('dry run: plans old ephemeral resources (stacks apart), keeps what a running demo owns, and deletes nothing', async () => {
    await runWorker({ env, taskQueue, activities: demoTestActivities(env, webhook) }, async () => {
      // A real running demo in the account: the sweep finds it through visibility.
      const demoId = uniqueId('live');
      const handle = await startDemo(env.client, demoInput(org, { id: demoId, ttlMs: 300_000 }), {
        taskQueue,
      });
      await eventually(
        async () => (await listDemos(env.client)).find((d) => d.id === demoId && d.phase === 'running'),
        'demo running and listed',
      );

      const result = (await sweep([org.target], false, undefined)) as DemoSweepResult;
      const plan = result.accounts[0]!.plan!;
      expect(plan.stacks.map((s) => s.arn)).toEqual([expect.stringContaining(`:stack/${oldStack}/`)]);
      expect(plan.resources.map((r) => r.arn).sort()).toEqual([
        `arn:aws:iam::${org.demoAccountId}:role/${oldRole}`,
        `arn:aws:s3:::${names.old}`,
        `arn:aws:s3:::${names.owned}`,
      ]);
      const kept = Object.fromEntries(plan.kept.map((k) => [k.arn, k.reason]));
      expect(kept[`arn:aws:s3:::${names.perm}`]).toBe('permanent');
      expect(kept[`arn:aws:s3:::${names.young}`]).toBe('young');
      expect(Object.entries(kept).find(([arn]) => arn.includes(`:stack/sv0-demo-${demoId}/`))?.[1]).toBe(
        'owned',
      );
      expect(Object.keys(kept).some((arn) => arn.includes(names.untagged))).toBe(false);
      expect(result.accounts[0]!.deleted).toEqual([]);
      for (const name of Object.values(names)) expect(await bucketExists(org.demoAccountId, name)).toBe(true);

      await destroyDemo(env.client, demoId, 'test done');
      await handle.result();
    });
  });

  it('apply: deletes stacks first, then old ephemeral leftovers; never untagged, permanent, young or owned ones', async () => {
    const workflowId = uniqueId('sweep');
    const result = await runWorker({ env, taskQueue, activities: demoTestActivities(env, webhook) }, () =>
      sweep([org.target], true, ['still-running'], workflowId),
    );
    // For test/replay.test.ts (with SV0_WRITE_HISTORIES=1): a sweep that plans and applies both steps.
    recordHistory(workflowId, 'demo-sweep-apply');
    const deleted = result.accounts[0]!.deleted.map((d) => d.arn);
    expect(deleted[0]).toContain(`:stack/${oldStack}/`);
    expect(deleted.slice(1).sort()).toEqual([
      `arn:aws:iam::${org.demoAccountId}:role/${oldRole}`,
      `arn:aws:s3:::${names.old}`,
    ]);
    const c = accountClients(org.demoAccountId);
    expect(await bucketExists(org.demoAccountId, names.old)).toBe(false);
    for (const name of [names.untagged, names.perm, names.owned, names.young])
      expect(await bucketExists(org.demoAccountId, name)).toBe(true);
    await expect(c.iam.send(new GetRoleCommand({ RoleName: oldRole }))).rejects.toThrow(
      /not found|cannot be found|NoSuchEntity/,
    );
    const stacks = await c.cloudformation.send(new DescribeStacksCommand({ StackName: oldStack })).then(
      (d) => d.Stacks ?? [],
      () => [],
    );
    expect(stacks.every((s) => s.StackStatus === 'DELETE_COMPLETE')).toBe(true);
    const fns = (await c.lambda.send(new ListFunctionsCommand({}))).Functions ?? [];
    expect(fns.filter((f) => f.FunctionName?.startsWith(oldStack))).toEqual([]);
    expect(webhook.received.some((r) => (r.body as { event?: string }).event === 'demo.sweep')).toBe(true);
  });

  it('refuses the management account, a non-sandbox account, an unlisted account and a prod-named one, touching nothing there', async () => {
    await runWorker({ env, taskQueue, activities: demoTestActivities(env, webhook) }, async () => {
      // The management account, even under a sandbox account's name.
      expect((await failure(sweep([target(org.managementAccountId, 'sv0-demo')], true, []))).message).toMatch(
        /management account/,
      );
      expect(
        (await failure(sweep([target(org.platformAccountId, 'sv0-platform')], true, []))).message,
      ).toMatch(/not marked sandbox/);
      // Config says sv0-demo, the live organization says otherwise: the activity's live check refuses.
      const unlisted = await failure(sweep([target(org.unlistedAccountId, 'sv0-demo')], true, []));
      expect(unlisted.type).toBe(ErrorType.SandboxRefused);
      expect(unlisted.message).toMatch(/someone-elses.*not a sandbox account of the worker/);
      expect((await failure(sweep([target(org.prodAccountId, 'sv0-prod-lab')], true, []))).message).toMatch(
        /says prod/,
      );
    });
    for (const id of [
      org.managementAccountId,
      org.platformAccountId,
      org.unlistedAccountId,
      org.prodAccountId,
    ]) {
      expect(await bucketExists(id, `guarded-${id}`)).toBe(true);
    }
  });

  it('a bucket whose tags cannot be read (S3 through a fake at the SDK-client boundary that denies GetBucketTagging for it, as a deny policy does: moto enforces none) is reported as could-not-read, and the rest is still planned', async () => {
    const { denied, makeClients } = await deniedBucket();
    const stillOld = uniqueId('old-eph');
    await bucket(org.demoAccountId, stillOld, { [Tags.ephemeral]: 'true', [Tags.ttl]: '1s' });
    await new Promise((r) => setTimeout(r, 1500));
    const workflowId = uniqueId('sweep');
    const result = await runWorker(
      { env, taskQueue, activities: demoTestActivities(env, webhook, { makeClients }) },
      () => sweep([org.target], false, [], workflowId),
    );
    const account = result.accounts[0]!;
    expect(account.error).toBeUndefined();
    expect(account.plan!.unreadable).toEqual([
      { arn: `arn:aws:s3:::${denied}`, type: 's3:bucket', error: 'AccessDenied: Access Denied' },
    ]);
    expect(account.plan!.resources.map((r) => r.arn)).toContain(`arn:aws:s3:::${stillOld}`);
    const summary = await webhook.waitFor(
      (r) =>
        (r.body as { event?: string; text?: string }).event === 'demo.sweep' &&
        ((r.body as { text?: string }).text ?? '').includes(denied),
    );
    expect((summary.body as { text: string; severity: string }).text).toContain(
      `could not read arn:aws:s3:::${denied}: AccessDenied: Access Denied`,
    );
    expect((summary.body as { severity: string }).severity).toBe('critical');
  });

  it("sweeps every region org.yaml's RegionLock allows (DynamoDB tables in two regions, a log group and a secret), ages an SNS topic by sv0:first-seen and tags a new one, and completes with an unreadable bucket (a fake at the SDK-client boundary denies its GetBucketTagging) reported", async () => {
    const orgYaml = loadOrgConfig(CONFIG_DIR);
    expect(allowedRegions(orgYaml)).toEqual(['us-east-1', 'us-west-2']);
    const inRegion = (region: string) => tagClients({ ...motoConfig(org.demoAccountId), region });
    const eph = { [Tags.ephemeral]: 'true' };
    const table = async (region: string, name: string, t: Record<string, string>) =>
      (
        await inRegion(region).dynamodb.send(
          new CreateTableCommand({
            TableName: name,
            AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
            KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
            BillingMode: 'PAY_PER_REQUEST',
            Tags: tags(t),
          }),
        )
      ).TableDescription!.TableArn!;
    const tableExists = (region: string, name: string) =>
      inRegion(region)
        .dynamodb.send(new DescribeTableCommand({ TableName: name }))
        .then(
          () => true,
          () => false,
        );
    const topic = async (region: string, name: string, t: Record<string, string>) =>
      (await inRegion(region).sns.send(new CreateTopicCommand({ Name: name, Tags: tags(t) }))).TopicArn!;
    const topicExists = (region: string, arn: string) =>
      inRegion(region)
        .sns.send(new GetTopicAttributesCommand({ TopicArn: arn }))
        .then(
          () => true,
          () => false,
        );

    const east = uniqueId('east-tbl');
    const west = uniqueId('west-tbl');
    const westUntagged = uniqueId('west-untagged');
    const eastArn = await table('us-east-1', east, { ...eph, [Tags.ttl]: '1s' });
    const westArn = await table('us-west-2', west, { ...eph, [Tags.ttl]: '1s' });
    await table('us-west-2', westUntagged, { [Tags.owner]: 'someone' });
    const thirteenHoursAgo = new Date(Date.now() - 13 * 3_600_000).toISOString();
    const seenLongAgo = await topic('us-west-2', uniqueId('seen-topic'), {
      ...eph,
      [Tags.firstSeen]: thirteenHoursAgo,
    });
    const neverSeen = await topic('us-east-1', uniqueId('new-topic'), eph);
    // The usual leaks of a CDK demo: a log group (us-west-2) and a secret (us-east-1).
    const logGroup = `/aws/lambda/${uniqueId('leak')}`;
    await inRegion('us-west-2').logs.send(
      new CreateLogGroupCommand({ logGroupName: logGroup, tags: { ...eph, [Tags.ttl]: '1s' } }),
    );
    const secretName = uniqueId('leak-secret');
    const secretArn = (
      await inRegion('us-east-1').secretsmanager.send(
        new CreateSecretCommand({
          Name: secretName,
          SecretString: 'x',
          Tags: tags({ ...eph, [Tags.ttl]: '1s' }),
        }),
      )
    ).ARN!;
    const { denied, makeClients } = await deniedBucket();
    await new Promise((r) => setTimeout(r, 1500));

    const result = await runWorker(
      { env, taskQueue, activities: demoTestActivities(env, webhook, { makeClients }) },
      () =>
        runSweep(
          env.client,
          {
            ...buildSweepInput({
              targets: [org.target],
              managementAccountId: org.managementAccountId,
              org: { ...org.org, serviceControlPolicies: orgYaml.serviceControlPolicies },
              notifications: {
                sinks: [{ type: 'webhook', name: 'test', urlRef: 'env:SV0_TEST_DEMO_WEBHOOK' }],
              },
              apply: true,
            }),
            runningDemoIds: [],
          },
          { taskQueue, workflowId: uniqueId('sweep') },
        ),
    );
    const account = result.accounts[0]!;
    expect(account.error).toBeUndefined();
    const deleted = account.deleted.map((d) => d.arn);
    expect(deleted).toEqual(expect.arrayContaining([eastArn, westArn, seenLongAgo]));
    expect(deleted).not.toContain(neverSeen);
    expect(deleted).toContain(secretArn);
    expect(account.deleted.map((d) => d.type)).toContain('logs:log-group');
    const groups = await inRegion('us-west-2').logs.send(
      new DescribeLogGroupsCommand({ logGroupNamePrefix: logGroup }),
    );
    expect(groups.logGroups ?? []).toEqual([]);
    const secrets = await inRegion('us-east-1').secretsmanager.send(
      new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [secretName] }] }),
    );
    expect(secrets.SecretList ?? []).toEqual([]);
    expect(await tableExists('us-east-1', east)).toBe(false);
    expect(await tableExists('us-west-2', west)).toBe(false);
    expect(await tableExists('us-west-2', westUntagged)).toBe(true);
    expect(await topicExists('us-west-2', seenLongAgo)).toBe(false);
    // First sight: tagged with the sweep's time (kept in AWS), kept as young.
    expect(await topicExists('us-east-1', neverSeen)).toBe(true);
    const seenTags = (
      await inRegion('us-east-1').sns.send(new ListTagsForResourceCommand({ ResourceArn: neverSeen }))
    ).Tags;
    const firstSeen = seenTags?.find((t) => t.Key === Tags.firstSeen)?.Value;
    expect(Date.now() - Date.parse(firstSeen ?? '')).toBeLessThan(10 * 60_000);
    expect(account.plan!.kept).toContainEqual({ arn: neverSeen, type: 'sns:topic', reason: 'young' });
    expect(account.plan!.unreadable).toEqual([
      { arn: `arn:aws:s3:::${denied}`, type: 's3:bucket', error: 'AccessDenied: Access Denied' },
    ]);
    expect(await bucketExists(org.demoAccountId, denied)).toBe(true);
  });

  it('refuses a sandbox account whose IAM alias says prod (read live in the account)', async () => {
    await accountClients(org.demoAccountId).iam.send(
      new CreateAccountAliasCommand({ AccountAlias: 'acme-prod' }),
    );
    const before = await bucketExists(org.demoAccountId, names.young);
    const cause = await runWorker({ env, taskQueue, activities: demoTestActivities(env, webhook) }, () =>
      failure(sweep([org.target], true, [])),
    );
    expect(cause.type).toBe(ErrorType.SandboxRefused);
    expect(cause.message).toMatch(/acme-prod/);
    expect(await bucketExists(org.demoAccountId, names.young)).toBe(before);
  });
});
