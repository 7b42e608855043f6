import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OrganizationsClient, ListAccountsCommand } from '@aws-sdk/client-organizations';
import type { STSClient } from '@aws-sdk/client-sts';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOrganizationsActivities } from '../../activities/org/organizations';
import { createOrgBootstrapActivities } from '../../activities/org';
import { ensureOrgDriftSchedule } from '../../clients/org/up';
import { ErrorType, ScheduleIds, TaskQueues, WorkflowTypes } from '../../lib/names';
import type { Moto } from '../../scripts/local-stack';
import { startRequestRecorder as recorder, sv0 } from '../harness/cli';
import { motoEnv } from '../harness/aws';
import { stack } from '../harness/stack';
import { runWorker, testEnv, uniqueId } from '../harness/temporal';
import {
  awsFor,
  CallLog,
  CONFIG_DIR,
  fakeCostExplorer,
  orgDeps,
  seedDesired,
  startOrgMoto,
} from '../harness/org-fixtures';

/** A config folder with the shipped files; `edit` changes org.yaml's text. */
function configDir(edit: (text: string) => string = (t) => t): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sv0-org-cli-'));
  writeFileSync(path.join(dir, 'org.yaml'), edit(readFileSync(path.join(CONFIG_DIR, 'org.yaml'), 'utf8')));
  writeFileSync(path.join(dir, 'budgets.yaml'), readFileSync(path.join(CONFIG_DIR, 'budgets.yaml')));
  return dir;
}

const savedEnv = { ...process.env };
afterEach(() => {
  for (const k of ['AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
});

describe('sv0 org: bad input is refused before any AWS or Temporal call', () => {
  it.each([
    [
      'an account in an undeclared OU',
      (t: string) => t.replace('ou: Sandbox', 'ou: Sandbx'),
      'accounts[1].ou: OU "Sandbx" is not declared',
    ],
    [
      'a duplicate email',
      (t: string) => t.replace('aws-sv0-demo@example.com', 'aws-sv0-platform@example.com'),
      'accounts[1].email: email aws-sv0-platform@example.com is used by another account',
    ],
    [
      'an SCP that is not JSON',
      (t: string) => t.replace('"Sid": "DenyLargeEC2",', '"Sid": "DenyLargeEC2"'),
      'serviceControlPolicies[2].document: not valid JSON',
    ],
    [
      'an empty region list',
      (t: string) =>
        t.replace('"aws:RequestedRegion": ["us-east-1", "us-west-2"]', '"aws:RequestedRegion": []'),
      'the region list is empty',
    ],
  ])('%s: exit 2, file, field and reason, no call', async (_what, edit, message) => {
    const aws = await recorder();
    try {
      process.env.AWS_ENDPOINT_URL = aws.url;
      const r = await sv0('org', 'plan', '--config-dir', configDir(edit), '--address', '127.0.0.1:1');
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('org.yaml: ');
      expect(r.stderr).toContain(message);
      expect(aws.requests).toEqual([]);
    } finally {
      await aws.close();
    }
  });

  it('refuses placeholder emails against a real AWS endpoint (exit 2)', async () => {
    process.env.AWS_ENDPOINT_URL = 'https://organizations.us-east-1.amazonaws.com';
    const r = await sv0('org', 'plan', '--config-dir', configDir(), '--address', '127.0.0.1:1');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'org.yaml: accounts[0].email: aws-sv0-platform@example.com is a placeholder address',
    );
  });

  it('the worker refuses placeholder emails against real AWS too, before any AWS call', async () => {
    const calls: string[] = [];
    const never = {
      send: (c: object) => (calls.push(c.constructor.name), Promise.reject(new Error('no call expected'))),
    };
    const activities = createOrganizationsActivities({
      organizations: never as unknown as OrganizationsClient,
      sts: never as unknown as STSClient,
      localEndpoint: async () => false,
    });
    await expect(activities.orgReadOrganization({ desired: seedDesired() })).rejects.toMatchObject({
      type: ErrorType.BadConfig,
      message: expect.stringContaining('placeholder emails'),
    });
    expect(calls).toEqual([]);
  });

  it('apply without --yes when stdin is not a terminal exits 2 before anything runs', async () => {
    const aws = await recorder();
    try {
      process.env.AWS_ENDPOINT_URL = aws.url;
      const r = await sv0('org', 'apply', '--config-dir', configDir(), '--address', '127.0.0.1:1');
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('pass --yes');
      expect(aws.requests).toEqual([]);
    } finally {
      await aws.close();
    }
  });
});

describe('sv0 org plan and apply against moto and the dev server (Cost Explorer through a thin fake)', () => {
  let env: TestWorkflowEnvironment;
  let moto: Moto;
  beforeAll(async () => {
    [env, moto] = await Promise.all([testEnv(), startOrgMoto()]);
  });
  afterAll(async () => {
    await moto?.stop();
  });

  it('plan --json prints a steps array; apply --yes --json applies it; plan then shows no changes', async () => {
    const aws = awsFor(moto.endpoint);
    Object.assign(process.env, motoEnv(moto.endpoint));
    // moto's SSO Admin cannot find path-qualified AWS policies (see seedDesired).
    const dir = configDir((t) => t.replace('policy/job-function/Billing', 'policy/AWSBillingReadOnlyAccess'));
    const cost = fakeCostExplorer([]);
    const activities = createOrgBootstrapActivities(orgDeps(aws, new CallLog(), cost.ce));
    const address = stack().temporalAddress;
    await runWorker({ env, taskQueue: TaskQueues.infra, activities }, async () => {
      const plan = await sv0('org', 'plan', '--json', '--config-dir', dir, '--address', address);
      expect(plan.code).toBe(0);
      const planned = JSON.parse(plan.stdout) as { steps: { id: string }[] };
      expect(planned.steps.map((s) => s.id)).toContain('createAccount:sv0-demo');

      const apply = await sv0('org', 'apply', '--yes', '--json', '--config-dir', dir, '--address', address);
      expect(apply.code).toBe(0);
      const applied = JSON.parse(apply.stdout) as { applied: string[] };
      expect(applied.applied.sort()).toEqual(planned.steps.map((s) => s.id).sort());
      expect(apply.stderr).toContain('org apply: done');

      const again = await sv0('org', 'plan', '--config-dir', dir, '--address', address);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('no changes');
    });
    const accounts = (await new OrganizationsClient(aws).send(new ListAccountsCommand({}))).Accounts!;
    expect(accounts.map((a) => a.Name).sort()).toContain('sv0-demo');
  });

  it('plan exits 3 when Temporal is unreachable', async () => {
    Object.assign(process.env, motoEnv(moto.endpoint));
    const r = await sv0('org', 'plan', '--config-dir', configDir(), '--address', '127.0.0.1:1');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('hint: run `sv0 doctor` to check each dependency');
  });

  it('creates, then updates, the org-drift schedule: daily, overlap SKIP', async () => {
    const taskQueue = uniqueId('org-drift');
    try {
      expect(
        await ensureOrgDriftSchedule(
          env.client,
          { desired: seedDesired(), sinks: [{ type: 'log' }] },
          { taskQueue },
        ),
      ).toBe('created');
      expect(
        await ensureOrgDriftSchedule(
          env.client,
          { desired: seedDesired(), sinks: [{ type: 'log' }] },
          { taskQueue, cron: '0 7 * * *' },
        ),
      ).toBe('updated');
      const d = await env.client.schedule.getHandle(ScheduleIds.orgDrift).describe();
      expect(d.action).toMatchObject({
        type: 'startWorkflow',
        workflowType: WorkflowTypes.orgDrift,
        taskQueue,
      });
      expect(d.policies.overlap).toBe('SKIP');
      expect(d.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 7, end: 7, step: 1 }] });
    } finally {
      await env.client.schedule
        .getHandle(ScheduleIds.orgDrift)
        .delete()
        .catch(() => undefined);
    }
  });
});
