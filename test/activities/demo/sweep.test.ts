import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateStackCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CreateRoleCommand, GetRoleCommand } from '@aws-sdk/client-iam';
import { CreateBucketCommand, HeadBucketCommand, PutBucketTaggingCommand } from '@aws-sdk/client-s3';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SweepPlan, SweepTargetInput } from '../../../lib/contracts/demo';
import { Roles, Tags } from '../../../lib/names';
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

/** The shipped config folder with sv0-demo's `sweepUntagged` set to `on`. */
function workerConfig(on: boolean): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sv0-sweep-config-'));
  cpSync(CONFIG_DIR, dir, { recursive: true });
  const file = path.join(dir, 'org.yaml');
  const text = readFileSync(file, 'utf8');
  expect(text).toContain('sweepUntagged: false');
  writeFileSync(file, text.replace('sweepUntagged: false', `sweepUntagged: ${on}`));
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
    arn.role = await role('stray-role');
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
  const protectedArns = () => [arn.ownRole, arn.ownStack, arn.deployRole, arn.accessRole, arn.ssoRole];

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

  it("deletes them where the worker's org.yaml sets sweepUntagged: true, stacks first; never the orchestrator's own roles and stacks", async () => {
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
      Roles.deploy,
      Roles.organizationAccess,
      'AWSReservedSSO_AdministratorAccess_1',
    ])
      expect((await c.iam.send(new GetRoleCommand({ RoleName: name }))).Role?.RoleName).toBe(name);
  });
});
