import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateStackCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CreateRoleCommand, GetRoleCommand } from '@aws-sdk/client-iam';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  HeadBucketCommand,
  PutBucketTaggingCommand,
} from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { CreateSecretCommand, DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SweepPlan } from '../../../lib/contracts/demo';
import type { SweepTargetInput } from '../../../lib/contracts/demo-inputs';
import { ErrorType, Roles, Tags } from '../../../lib/names';
import {
  accountClients,
  CONFIG_DIR,
  demoSweepActivities,
  setUpDemoOrg,
  type DemoOrg,
} from '../../harness/demo-fixture';

const HOUR = 3_600_000;
/** moto cannot backdate a resource: the worker's clock runs 13 hours ahead instead. */
const thirteenHoursOn = () => Date.now() + 13 * HOUR;
const POLICY = '{"Version":"2012-10-17","Statement":[]}';
/** A stack with no resources of its own (a wait condition handle is only a placeholder). */
const EMPTY_TEMPLATE = JSON.stringify({
  Resources: { Handle: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
});

/** A role org.yaml declares in sv0-demo, named without the `sv0-` prefix. */
const DECLARED_ROLE = 'AuditReader';

/**
 * The shipped config folder with sv0-demo's `sweepUntagged` set to `on`, and {@link DECLARED_ROLE}
 * declared there in crossAccountRoles.
 */
function workerConfig(on: boolean): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sv0-sweep-config-'));
  cpSync(CONFIG_DIR, dir, { recursive: true });
  const file = path.join(dir, 'org.yaml');
  const text = readFileSync(file, 'utf8');
  expect(text).toContain('sweepUntagged: false');
  expect(text).toContain('\ncrossAccountRoles:\n');
  const declared = [
    `  - name: ${DECLARED_ROLE}`,
    '    accounts: [sv0-demo]',
    '    trustedAccount: management',
    '    externalId: audit-reader-external-id',
    '    managedPolicies: [arn:aws:iam::aws:policy/SecurityAudit]',
  ].join('\n');
  writeFileSync(
    file,
    text
      .replace('sweepUntagged: false', `sweepUntagged: ${on}`)
      .replace('\ncrossAccountRoles:\n', `\ncrossAccountRoles:\n${declared}\n`),
  );
  return dir;
}

describe('the sweep and untagged resources (activities against moto)', () => {
  let org: DemoOrg;
  const arn = {
    bucket: 'arn:aws:s3:::stray-bucket-untagged',
    role: '',
    stack: '',
    topic: '',
    ownRole: '',
    ownStack: '',
    deployRole: '',
    accessRole: '',
    ssoRole: '',
    declaredRole: '',
    ownSecret: '',
  };

  beforeAll(async () => {
    org = await setUpDemoOrg();
    const c = accountClients(org.demoAccountId);
    await c.s3.send(new CreateBucketCommand({ Bucket: 'stray-bucket-untagged' }));
    // An ephemeral one too: the tagged sweep goes on as before beside the untagged one.
    await c.s3.send(new CreateBucketCommand({ Bucket: 'old-ephemeral' }));
    await c.s3.send(
      new PutBucketTaggingCommand({
        Bucket: 'old-ephemeral',
        Tagging: {
          TagSet: [
            { Key: Tags.ephemeral, Value: 'true' },
            { Key: Tags.ttl, Value: '1s' },
          ],
        },
      }),
    );
    const role = async (RoleName: string, Path?: string) =>
      (await c.iam.send(new CreateRoleCommand({ RoleName, Path, AssumeRolePolicyDocument: POLICY }))).Role!
        .Arn!;
    // Same age: the undeclared one goes with sweepUntagged, the one org.yaml declares there stays.
    arn.role = await role('stray-role');
    arn.declaredRole = await role(DECLARED_ROLE);
    arn.ownRole = await role('sv0-platform-reader');
    arn.accessRole = await c.iam.send(new GetRoleCommand({ RoleName: Roles.organizationAccess })).then(
      (r) => r.Role!.Arn!,
      () => role(Roles.organizationAccess),
    );
    arn.ssoRole = await role('AWSReservedSSO_AdministratorAccess_1', '/aws-reserved/sso.amazonaws.com/');
    arn.deployRole = (await c.iam.send(new GetRoleCommand({ RoleName: Roles.deploy }))).Role!.Arn!;
    const stack = async (StackName: string) =>
      (await c.cloudformation.send(new CreateStackCommand({ StackName, TemplateBody: EMPTY_TEMPLATE })))
        .StackId!;
    arn.stack = await stack('stray-stack');
    arn.ownStack = await stack('sv0-baseline');
    arn.topic = (await c.sns.send(new CreateTopicCommand({ Name: 'stray-topic' }))).TopicArn!;
    // An `sv0-` name in a type beyond roles and stacks: the orchestrator's own too.
    arn.ownSecret = (
      await c.secretsmanager.send(new CreateSecretCommand({ Name: 'sv0-demo-settings', SecretString: 'x' }))
    ).ARN!;
    await new Promise((r) => setTimeout(r, 1500));
  });

  const input = (): SweepTargetInput => ({
    target: org.target,
    org: org.org,
    managementAccountId: org.managementAccountId,
    runningDemoIds: [],
    maxAgeMs: 12 * HOUR,
    now: Date.now(),
  });
  const arns = (items: { arn: string }[] | undefined) => (items ?? []).map((i) => i.arn).sort();
  const everywhere = (plan: SweepPlan) =>
    [...plan.stacks, ...plan.resources, ...plan.kept, ...(plan.untagged ?? [])].map((i) => i.arn);
  const protectedArns = () => [
    arn.ownRole,
    arn.ownStack,
    arn.deployRole,
    arn.accessRole,
    arn.ssoRole,
    arn.declaredRole,
    arn.ownSecret,
  ];

  it('reports untagged resources 12 h or older, and those of unknown age, and deletes none where sweepUntagged is off', async () => {
    const off = demoSweepActivities({ clock: thirteenHoursOn, configDir: workerConfig(false) });
    const plan = await off.planAccountSweep(input());
    expect(arns(plan.untagged)).toEqual([arn.role, arn.bucket, arn.stack, arn.topic].sort());
    const reasons = Object.fromEntries((plan.untagged ?? []).map((u) => [u.arn, u.reason]));
    expect(reasons[arn.bucket]).toBe(
      'untagged, older than 12h: reported only (sweepUntagged is off for this account)',
    );
    expect(reasons[arn.topic]).toBe('untagged, age unknown: reported only');
    expect(plan.stacks).toEqual([]);
    expect(arns(plan.resources)).toEqual(['arn:aws:s3:::old-ephemeral']);
    for (const own of protectedArns()) expect(everywhere(plan)).not.toContain(own);

    // By the worker's real clock they are young: only what has no age is reported.
    const now = demoSweepActivities({ configDir: workerConfig(true) });
    expect(arns((await now.planAccountSweep(input())).untagged)).toEqual([arn.topic]);
    // A workflow's `now` does not age them: the worker's clock does.
    const forged = await now.planAccountSweep({ ...input(), now: thirteenHoursOn() });
    expect(arns(forged.untagged)).toEqual([arn.topic]);
    expect(everywhere(forged)).not.toContain(arn.bucket);
  });

  it("ages ephemeral resources by the worker's clock, never by the input's `now`, and reads only the regions the worker's org.yaml allows", async () => {
    const c = accountClients(org.demoAccountId);
    await c.s3.send(new CreateBucketCommand({ Bucket: 'young-ephemeral' }));
    const young = 'arn:aws:s3:::young-ephemeral';
    try {
      await c.s3.send(
        new PutBucketTaggingCommand({
          Bucket: 'young-ephemeral',
          Tagging: { TagSet: [{ Key: Tags.ephemeral, Value: 'true' }] },
        }),
      );
      const sweep = demoSweepActivities({ configDir: workerConfig(false) });
      const forged = { ...input(), now: Date.now() + 10 * 365 * 24 * HOUR };
      const plan = await sweep.planAccountSweep(forged);
      expect(plan.kept).toContainEqual({ arn: young, type: 's3:bucket', reason: 'young' });
      expect(arns([...plan.stacks, ...plan.resources])).not.toContain(young);
      expect(await sweep.applyAccountSweep({ ...forged, step: 'resources', approved: [young] })).toEqual({
        deleted: [],
        failed: [],
      });
      await c.s3.send(new HeadBucketCommand({ Bucket: 'young-ephemeral' }));
      // The same bucket by a clock 13 h on (the worker's own): old, planned.
      const later = demoSweepActivities({ configDir: workerConfig(false), clock: thirteenHoursOn });
      expect(arns((await later.planAccountSweep(input())).resources)).toContain(young);
    } finally {
      await c.s3.send(new DeleteBucketCommand({ Bucket: 'young-ephemeral' }));
    }

    const refusal = (p: Promise<unknown>) =>
      p.then(
        () => expect.fail('the sweep was not refused'),
        (e: unknown) => e as ApplicationFailure,
      );
    const withOrg = demoSweepActivities({ configDir: workerConfig(false) });
    const outside = await refusal(
      withOrg.planAccountSweep({ ...input(), regions: ['us-east-1', 'eu-west-1'] }),
    );
    expect(outside.type).toBe(ErrorType.InputRefused);
    expect(outside.nonRetryable).toBe(true);
    expect(outside.message).toMatch(
      /the sweep's regions eu-west-1 are not among those the worker sweeps \(us-east-1, us-west-2\): the aws:RequestedRegion list of the RegionLock SCP in the worker's .*org\.yaml/,
    );
    // Its own regions, or some of them, are fine: the plan reads every one the worker allows.
    await withOrg.planAccountSweep({ ...input(), regions: ['us-west-2'] });
    // A worker without org.yaml reads its own region only, and refuses another.
    const bare = demoSweepActivities({ configDir: mkdtempSync(path.join(os.tmpdir(), 'sv0-no-org-')) });
    const other = await refusal(bare.planAccountSweep({ ...input(), regions: ['us-west-2'] }));
    expect(other.message).toMatch(
      /us-west-2 are not among those the worker sweeps \(us-east-1\): the worker's own region/,
    );
  });

  it("deletes them where the worker's org.yaml sets sweepUntagged: true, stacks first; never the orchestrator's own resources or the roles that org.yaml declares in the account", async () => {
    const on = demoSweepActivities({ clock: thirteenHoursOn, configDir: workerConfig(true) });
    const plan = await on.planAccountSweep(input());
    expect(plan.stacks).toEqual([
      { arn: arn.stack, type: 'cloudformation:stack', reason: 'untagged, older than 12h (sweepUntagged)' },
    ]);
    expect(arns(plan.resources)).toEqual([arn.role, 'arn:aws:s3:::old-ephemeral', arn.bucket].sort());
    expect(arns(plan.untagged)).toEqual([arn.topic]);
    for (const own of protectedArns()) expect(everywhere(plan)).not.toContain(own);

    for (const step of ['stacks', 'resources'] as const) {
      const out = await on.applyAccountSweep({ ...input(), step, approved: arns(plan[step]) });
      expect(out.failed).toEqual([]);
      expect(arns(out.deleted)).toEqual(arns(plan[step]));
    }
    const c = accountClients(org.demoAccountId);
    await expect(c.s3.send(new HeadBucketCommand({ Bucket: 'stray-bucket-untagged' }))).rejects.toThrow();
    await expect(c.iam.send(new GetRoleCommand({ RoleName: 'stray-role' }))).rejects.toThrow(
      /not found|cannot be found|NoSuchEntity/,
    );
    const status = async (StackName: string) =>
      (await c.cloudformation.send(new DescribeStacksCommand({ StackName })).catch(() => undefined))
        ?.Stacks?.[0]?.StackStatus;
    expect([undefined, 'DELETE_COMPLETE']).toContain(await status('stray-stack'));
    // The orchestrator's own, and what AWS keeps in the account, are all still there.
    expect(await status('sv0-baseline')).toBe('CREATE_COMPLETE');
    for (const name of [
      'sv0-platform-reader',
      DECLARED_ROLE,
      Roles.deploy,
      Roles.organizationAccess,
      'AWSReservedSSO_AdministratorAccess_1',
    ])
      expect((await c.iam.send(new GetRoleCommand({ RoleName: name }))).Role?.RoleName).toBe(name);
    expect((await c.secretsmanager.send(new DescribeSecretCommand({ SecretId: arn.ownSecret }))).Name).toBe(
      'sv0-demo-settings',
    );
  });
});
