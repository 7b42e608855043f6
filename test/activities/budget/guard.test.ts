import { BudgetsClient } from '@aws-sdk/client-budgets';
import {
  DeletePolicyCommand,
  ListOrganizationalUnitsForParentCommand,
  ListRootsCommand,
} from '@aws-sdk/client-organizations';
import { STSClient } from '@aws-sdk/client-sts';
import { ApplicationFailure } from '@temporalio/common';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBudgetActivities } from '../../../activities/budget/guard';
import { ErrorType } from '../../../lib/names';
import { motoConfig, resetMoto } from '../../harness/aws';
import {
  createBudgetOrg,
  freezeTargets,
  ORG,
  organizations,
  WORKER_SANDBOX,
  setSpend,
  type BudgetOrg,
} from '../../harness/budget-fixtures';

/** The AWS activities of the budget guard against moto: spend reads, idempotent attach/detach, guards. */
describe('budget activities (moto)', () => {
  let org: BudgetOrg;
  let aws: ReturnType<typeof createBudgetActivities>;

  beforeAll(async () => {
    await resetMoto();
    org = await createBudgetOrg();
    aws = createBudgetActivities({
      budgets: new BudgetsClient(motoConfig()),
      organizations: organizations(),
      sts: new STSClient(motoConfig()),
      sandbox: WORKER_SANDBOX,
    });
  });

  async function refusal(p: Promise<unknown>): Promise<ApplicationFailure> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  }

  it('reads actual and forecasted spend, and reports a missing budget as not found', async () => {
    await setSpend({ name: 'acts-total', amount: 500 }, 123.45, 510);
    expect(await aws.readBudgetSpend({ budgetName: 'acts-total' })).toMatchObject({
      found: true,
      actual: 123.45,
      forecast: 510,
      limit: 500,
      unit: 'USD',
    });
    expect(await aws.readBudgetSpend({ budgetName: 'acts-missing' })).toMatchObject({ found: false });
  });

  it('attaches and detaches FreezeAccount idempotently, on the sandbox account only', async () => {
    const target = { ...(await aws.resolveAccount({ accountName: 'sv0-demo' })), org: ORG };
    expect(target.accountId).toBe(org.demoAccountId);
    expect(await aws.attachFreezePolicy(target)).toEqual({ policyId: org.freezePolicyId, changed: true });
    expect(await aws.attachFreezePolicy(target)).toEqual({ policyId: org.freezePolicyId, changed: false });
    expect(await freezeTargets(org.freezePolicyId)).toEqual([org.demoAccountId]);
    expect(await aws.detachFreezePolicy({ accountId: org.demoAccountId })).toEqual({
      policyId: org.freezePolicyId,
      changed: true,
    });
    expect(await aws.detachFreezePolicy({ accountId: org.demoAccountId })).toEqual({
      policyId: org.freezePolicyId,
      changed: false,
    });
    expect(await freezeTargets(org.freezePolicyId)).toEqual([]);
  });

  it('a dry run checks everything and attaches nothing', async () => {
    const target = { ...(await aws.resolveAccount({ accountName: 'sv0-demo' })), org: ORG };
    expect(await aws.attachFreezePolicy({ ...target, dryRun: true })).toEqual({
      policyId: org.freezePolicyId,
      changed: false,
    });
    expect(await freezeTargets(org.freezePolicyId)).toEqual([]);
  });

  it('refuses the management account, a non-sandbox account, the root and an OU, non-retryably', async () => {
    const orgs = organizations();
    const rootId = (await orgs.send(new ListRootsCommand({}))).Roots![0]!.Id!;
    const ouId = (await orgs.send(new ListOrganizationalUnitsForParentCommand({ ParentId: rootId })))
      .OrganizationalUnits![0]!.Id!;
    const base = { managementAccountId: org.managementAccountId, org: ORG };

    const platform = await refusal(
      aws.attachFreezePolicy({ ...base, accountId: org.platformAccountId, accountName: 'sv0-platform' }),
    );
    expect(platform).toMatchObject({ type: ErrorType.SandboxRefused, nonRetryable: true });
    expect(platform.message).toMatch(/sv0-platform\) is not a sandbox account of the worker/);
    // A caller that claims another name does not get past the live name check.
    const renamed = await refusal(
      aws.attachFreezePolicy({ ...base, accountId: org.platformAccountId, accountName: 'sv0-demo' }),
    );
    expect(renamed.message).toMatch(/sv0-platform/);
    const mgmt = await refusal(
      aws.attachFreezePolicy({ ...base, accountId: org.managementAccountId, accountName: 'sv0-demo' }),
    );
    expect(mgmt.message).toMatch(/management account/);
    for (const id of [rootId, ouId]) {
      // Not an account id at all: refused as input before any call.
      const attach = await refusal(
        aws.attachFreezePolicy({ ...base, accountId: id, accountName: 'sv0-demo' }),
      );
      expect(attach).toMatchObject({ type: ErrorType.InputRefused, nonRetryable: true });
      expect(attach.message).toMatch(/attachFreezePolicy input accountId: a 12-digit AWS account id/);
      expect(await refusal(aws.detachFreezePolicy({ accountId: id }))).toMatchObject({
        type: ErrorType.SandboxRefused,
      });
    }
    expect(await refusal(aws.detachFreezePolicy({ accountId: org.managementAccountId }))).toMatchObject({
      type: ErrorType.SandboxRefused,
    });
    expect(await freezeTargets(org.freezePolicyId)).toEqual([]);
  });

  it('says to run the org bootstrap when an account or the FreezeAccount policy is missing', async () => {
    expect((await refusal(aws.resolveAccount({ accountName: 'sv0-nope' }))).message).toMatch(
      /sv0-nope is not in the organization/,
    );
    await organizations().send(new DeletePolicyCommand({ PolicyId: org.freezePolicyId }));
    const target = { ...(await aws.resolveAccount({ accountName: 'sv0-demo' })), org: ORG };
    const missing = await refusal(aws.attachFreezePolicy(target));
    expect(missing).toMatchObject({ type: ErrorType.BadConfig, nonRetryable: true });
    expect(missing.message).toMatch(/FreezeAccount does not exist.*sv0 org apply/);
  });
});
