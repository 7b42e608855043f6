import { DescribeBudgetCommand, NotFoundException, type BudgetsClient } from '@aws-sdk/client-budgets';
import {
  AttachPolicyCommand,
  DescribeAccountCommand,
  DescribeOrganizationCommand,
  DetachPolicyCommand,
  DuplicatePolicyAttachmentException,
  paginateListAccounts,
  paginateListPolicies,
  paginateListPoliciesForTarget,
  PolicyNotAttachedException,
  type OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { ApplicationFailure } from '@temporalio/common';
import {
  AttachFreezeInputSchema,
  DetachFreezeInputSchema,
  ReadBudgetSpendInputSchema,
  ResolveAccountInputSchema,
} from '../../lib/contracts/budget';
import { assertWorkerSandboxTarget, type SandboxOrg, type WorkerSandbox } from '../../lib/sandbox';
import { ErrorType, FREEZE_POLICY_NAME } from '../../lib/names';
import { validInput } from '../input';

/**
 * AWS side of the budget guard: read a budget's spend (AWS Budgets, in the management account)
 * and attach or detach the FreezeAccount SCP (AWS Organizations). Every change is idempotent:
 * attaching what is attached, or detaching what is not, succeeds without a call that changes
 * anything. Inputs are validated again here, and which account may be frozen is the worker's
 * decision (its sandbox settings against the live organization), never the guard input's.
 */
export interface BudgetActivitiesDeps {
  /** Budgets client in the account that owns the budgets (the management account). */
  budgets: BudgetsClient;
  /** Organizations client in the management account. */
  organizations: OrganizationsClient;
  sts: STSClient;
  /** The worker's sandbox settings (worker.yaml `sandbox`): the only accounts FreezeAccount may go to. */
  sandbox: WorkerSandbox;
}

/** A budget's spend as AWS Budgets reports it; `found: false` when the budget does not exist (yet). */
export type BudgetSpend =
  | { found: true; actual: number; forecast?: number; limit?: number; unit: string; readAt: string }
  | { found: false; readAt: string };

/** An account of the organization as the live organization names it. */
export interface LiveAccount {
  accountId: string;
  accountName: string;
  managementAccountId: string;
}

/** Input of attach: the target as resolved live, and the caller's org (shape-checked, not trusted). */
export interface FreezeTarget extends LiveAccount {
  org: SandboxOrg;
}

function amount(spend: { Amount?: string } | undefined): number | undefined {
  if (spend?.Amount === undefined) return undefined;
  const n = Number(spend.Amount);
  return Number.isFinite(n) ? n : undefined;
}

export function createBudgetActivities(deps: BudgetActivitiesDeps) {
  const { budgets, organizations, sts } = deps;
  let callerAccount: string | undefined;

  async function ownAccount(): Promise<string> {
    callerAccount ??= (await sts.send(new GetCallerIdentityCommand({}))).Account;
    if (!callerAccount) throw new Error('STS GetCallerIdentity returned no account');
    return callerAccount;
  }

  async function managementAccountId(): Promise<string> {
    const out = await organizations.send(new DescribeOrganizationCommand({}));
    const id = out.Organization?.MasterAccountId;
    if (!id) throw new Error('DescribeOrganization returned no management account id');
    return id;
  }

  async function freezePolicyId(): Promise<string> {
    for await (const page of paginateListPolicies(
      { client: organizations },
      { Filter: 'SERVICE_CONTROL_POLICY' },
    )) {
      const hit = page.Policies?.find((p) => p.Name === FREEZE_POLICY_NAME);
      if (hit?.Id) return hit.Id;
    }
    throw ApplicationFailure.nonRetryable(
      `SCP ${FREEZE_POLICY_NAME} does not exist in the organization; run \`sv0 org apply\` (config/org.yaml serviceControlPolicies) to create it`,
      ErrorType.BadConfig,
    );
  }

  async function isAttached(policyId: string, accountId: string): Promise<boolean> {
    const pages = paginateListPoliciesForTarget(
      { client: organizations },
      { TargetId: accountId, Filter: 'SERVICE_CONTROL_POLICY' },
    );
    for await (const page of pages) {
      if (page.Policies?.some((p) => p.Id === policyId)) return true;
    }
    return false;
  }

  /**
   * Check the target against what the live organization says (its name for that id, the
   * management account) and the worker's sandbox settings: only a sandbox account, never the
   * management account, the root or an OU (those ids are not 12 digits).
   */
  async function checkLiveSandbox(target: { accountId: string }): Promise<void> {
    const live = await organizations
      .send(new DescribeAccountCommand({ AccountId: target.accountId }))
      .catch((err: unknown) => {
        if (
          (err as Error).name === 'AccountNotFoundException' ||
          (err as Error).name === 'InvalidInputException'
        ) {
          throw ApplicationFailure.nonRetryable(
            `${target.accountId} is not an account of this organization; FreezeAccount is attached only to a sandbox account`,
            ErrorType.SandboxRefused,
          );
        }
        throw err;
      });
    assertWorkerSandboxTarget({
      accountId: target.accountId,
      accountName: live.Account?.Name ?? '',
      managementAccountId: await managementAccountId(),
      sandbox: deps.sandbox,
    });
  }

  return {
    /** Read actual and forecasted spend of one budget (DescribeBudget in the caller's account). */
    async readBudgetSpend(raw: { budgetName: string }): Promise<BudgetSpend> {
      const input = validInput(ReadBudgetSpendInputSchema, raw, 'readBudgetSpend');
      const readAt = new Date().toISOString();
      try {
        const out = await budgets.send(
          new DescribeBudgetCommand({ AccountId: await ownAccount(), BudgetName: input.budgetName }),
        );
        const b = out.Budget;
        const spend = b?.CalculatedSpend;
        return {
          found: true,
          actual: amount(spend?.ActualSpend) ?? 0,
          forecast: amount(spend?.ForecastedSpend),
          limit: amount(b?.BudgetLimit),
          unit: spend?.ActualSpend?.Unit ?? b?.BudgetLimit?.Unit ?? 'USD',
          readAt,
        };
      } catch (err) {
        if (err instanceof NotFoundException || (err as Error).name === 'NotFoundException')
          return { found: false, readAt };
        throw err;
      }
    },

    /** Find an account of the organization by its name; fails (non-retryable) when there is none. */
    async resolveAccount(raw: { accountName: string }): Promise<LiveAccount> {
      const input = validInput(ResolveAccountInputSchema, raw, 'resolveAccount');
      const management = await managementAccountId();
      for await (const page of paginateListAccounts({ client: organizations }, {})) {
        const hit = page.Accounts?.find((a) => a.Name === input.accountName);
        if (hit?.Id)
          return { accountId: hit.Id, accountName: input.accountName, managementAccountId: management };
      }
      throw ApplicationFailure.nonRetryable(
        `account ${input.accountName} is not in the organization; run \`sv0 org apply\` or fix the budget's account in config/budgets.yaml`,
        ErrorType.BadConfig,
      );
    },

    /**
     * Attach FreezeAccount to one sandbox account (checked live first). Returns whether anything changed;
     * with `dryRun`, runs the sandbox check and the lookups and changes nothing.
     */
    async attachFreezePolicy(
      raw: FreezeTarget & { dryRun?: boolean },
    ): Promise<{ policyId: string; changed: boolean }> {
      const input = validInput(AttachFreezeInputSchema, raw, 'attachFreezePolicy');
      if (input.managementAccountId !== (await managementAccountId()))
        throw ApplicationFailure.nonRetryable(
          `the organization's management account is not ${input.managementAccountId} as given`,
          ErrorType.SandboxRefused,
        );
      await checkLiveSandbox(input);
      const policyId = await freezePolicyId();
      if (await isAttached(policyId, input.accountId)) return { policyId, changed: false };
      if (input.dryRun) return { policyId, changed: false };
      try {
        await organizations.send(new AttachPolicyCommand({ PolicyId: policyId, TargetId: input.accountId }));
      } catch (err) {
        if (err instanceof DuplicatePolicyAttachmentException) return { policyId, changed: false };
        throw err;
      }
      return { policyId, changed: true };
    },

    /**
     * Detach FreezeAccount from an account. Only a 12-digit account id other than the management
     * account is accepted (the root and OUs are never touched); not attached = success.
     */
    async detachFreezePolicy(raw: {
      accountId: string;
      dryRun?: boolean;
    }): Promise<{ policyId: string; changed: boolean }> {
      const input = validInput(DetachFreezeInputSchema, raw, 'detachFreezePolicy');
      if (!/^[0-9]{12}$/.test(input.accountId)) {
        throw ApplicationFailure.nonRetryable(
          `${input.accountId} is not an account id; FreezeAccount is detached only from accounts`,
          ErrorType.SandboxRefused,
        );
      }
      if (input.accountId === (await managementAccountId())) {
        throw ApplicationFailure.nonRetryable(
          `${input.accountId} is the management account; the budget guard never touches it`,
          ErrorType.SandboxRefused,
        );
      }
      const policyId = await freezePolicyId();
      if (!(await isAttached(policyId, input.accountId))) return { policyId, changed: false };
      if (input.dryRun) return { policyId, changed: false };
      try {
        await organizations.send(new DetachPolicyCommand({ PolicyId: policyId, TargetId: input.accountId }));
      } catch (err) {
        if (err instanceof PolicyNotAttachedException) return { policyId, changed: false };
        throw err;
      }
      return { policyId, changed: true };
    },
  };
}
