import {
  type Action,
  DescribeBudgetActionCommand,
  DescribeBudgetActionsForBudgetCommand,
  DescribeBudgetCommand,
  ExecuteBudgetActionCommand,
  NotFoundException,
  type BudgetsClient,
} from '@aws-sdk/client-budgets';
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
} from '../../lib/contracts/budget-inputs';
import { assertWorkerSandboxTarget, type SandboxOrg, type WorkerSandbox } from '../../lib/sandbox';
import { ErrorType, FREEZE_POLICY_NAME } from '../../lib/names';
import { validInput } from '../input';

/**
 * AWS side of the budget guard: read a budget's spend (AWS Budgets, in the management account)
 * and attach or detach the FreezeAccount SCP (AWS Organizations). Every change is idempotent:
 * attaching what is attached, or detaching what is not, succeeds without a call that changes
 * anything. Inputs are validated again here, and which account may be frozen is the worker's
 * decision (its sandbox settings against the live organization), never the guard input's. The AWS
 * Budgets action the bootstrap creates for a budget with `freezeAt` attaches the same SCP on its
 * own when the worker is down: attach reports it, detach reverses it (ExecuteBudgetAction
 * REVERSE_BUDGET_ACTION) before it detaches the SCP.
 */
export interface BudgetActivitiesDeps {
  /** Budgets client in the account that owns the budgets (the management account). */
  budgets: BudgetsClient;
  /** Organizations client in the management account. */
  organizations: OrganizationsClient;
  sts: STSClient;
  /** The worker's sandbox settings (worker.yaml `sandbox`): the only accounts FreezeAccount may go to. */
  sandbox: WorkerSandbox;
  /** Pause between reads of an action AWS is reversing. @default 2000 */
  pollIntervalMs?: number;
  /** Reads of a reversing action before the SCP is detached directly. @default 10 */
  reversePolls?: number;
}

/**
 * The budget's freeze action (AWS Budgets APPLY_SCP_POLICY on the account) as the guard saw it:
 * its status (`EXECUTION_SUCCESS`: AWS attached FreezeAccount), whether this call reversed it, or
 * why it could not be read. Absent: the budget has no such action.
 */
export type FreezeActionState =
  { actionId: string; status: string; reversed?: boolean } | { unreadable: string };

/** The status in which an action has attached its SCP. */
const ACTION_APPLIED = 'EXECUTION_SUCCESS';

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
  const pollMs = deps.pollIntervalMs ?? 2000;
  const polls = deps.reversePolls ?? 10;
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

  /** The budget's APPLY_SCP_POLICY action on FreezeAccount and this account, if it has one. */
  async function freezeAction(
    budgetName: string,
    policyId: string,
    accountId: string,
  ): Promise<{ action?: Action } | { unreadable: string }> {
    try {
      const out = await budgets.send(
        new DescribeBudgetActionsForBudgetCommand({ AccountId: await ownAccount(), BudgetName: budgetName }),
      );
      const action = (out.Actions ?? []).find(
        (a) =>
          a.ActionType === 'APPLY_SCP_POLICY' &&
          a.Definition?.ScpActionDefinition?.PolicyId === policyId &&
          (a.Definition.ScpActionDefinition.TargetIds ?? []).includes(accountId),
      );
      return action ? { action } : {};
    } catch (err) {
      if ((err as Error).name === 'NotFoundException') return {};
      return {
        unreadable: `DescribeBudgetActionsForBudget: ${(err as Error).name}: ${(err as Error).message}`,
      };
    }
  }

  /**
   * Reverse an action that attached FreezeAccount and wait (bounded) until AWS has: a reverse AWS
   * is still working on when the SCP is detached directly could end REVERSE_FAILURE.
   */
  async function reverseAction(budgetName: string, action: Action): Promise<FreezeActionState> {
    const id = { AccountId: await ownAccount(), BudgetName: budgetName, ActionId: action.ActionId };
    try {
      await budgets.send(new ExecuteBudgetActionCommand({ ...id, ExecutionType: 'REVERSE_BUDGET_ACTION' }));
      let status = 'REVERSE_IN_PROGRESS';
      for (let i = 0; i < polls && status === 'REVERSE_IN_PROGRESS'; i++) {
        status = String((await budgets.send(new DescribeBudgetActionCommand(id))).Action?.Status ?? status);
        if (status === 'REVERSE_IN_PROGRESS') await new Promise((r) => setTimeout(r, pollMs));
      }
      return { actionId: action.ActionId!, status, reversed: status === 'REVERSE_SUCCESS' };
    } catch (err) {
      return {
        unreadable: `ExecuteBudgetAction REVERSE_BUDGET_ACTION: ${(err as Error).name}: ${(err as Error).message}`,
      };
    }
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
      raw: FreezeTarget & { dryRun?: boolean; budgetName?: string },
    ): Promise<{ policyId: string; changed: boolean; action?: FreezeActionState }> {
      const input = validInput(AttachFreezeInputSchema, raw, 'attachFreezePolicy');
      if (input.managementAccountId !== (await managementAccountId()))
        throw ApplicationFailure.nonRetryable(
          `the organization's management account is not ${input.managementAccountId} as given`,
          ErrorType.SandboxRefused,
        );
      await checkLiveSandbox(input);
      const policyId = await freezePolicyId();
      // The budget's own action may have attached it already (AWS Budgets, while the worker was down).
      const found = input.budgetName ? await freezeAction(input.budgetName, policyId, input.accountId) : {};
      const action: FreezeActionState | undefined =
        'unreadable' in found
          ? found
          : found.action
            ? { actionId: found.action.ActionId!, status: String(found.action.Status) }
            : undefined;
      const result = (changed: boolean) => ({ policyId, changed, ...(action ? { action } : {}) });
      if (await isAttached(policyId, input.accountId)) return result(false);
      if (input.dryRun) return result(false);
      try {
        await organizations.send(new AttachPolicyCommand({ PolicyId: policyId, TargetId: input.accountId }));
      } catch (err) {
        if (err instanceof DuplicatePolicyAttachmentException) return result(false);
        throw err;
      }
      return result(true);
    },

    /**
     * Detach FreezeAccount from an account. Only a 12-digit account id other than the management
     * account is accepted (the root and OUs are never touched); not attached = success. With
     * `budgetName`, the budget's freeze action is reversed first when AWS applied it, so that the
     * action and the guard agree the account is unfrozen; a reverse that fails or does not finish
     * in time is reported, and the SCP is detached all the same.
     */
    async detachFreezePolicy(raw: {
      accountId: string;
      dryRun?: boolean;
      budgetName?: string;
    }): Promise<{ policyId: string; changed: boolean; action?: FreezeActionState }> {
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
      let action: FreezeActionState | undefined;
      if (input.budgetName) {
        const found = await freezeAction(input.budgetName, policyId, input.accountId);
        if ('unreadable' in found) action = found;
        else if (found.action) {
          const status = String(found.action.Status);
          action =
            status === ACTION_APPLIED && !input.dryRun
              ? await reverseAction(input.budgetName, found.action)
              : { actionId: found.action.ActionId!, status };
        }
      }
      const result = (changed: boolean) => ({ policyId, changed, ...(action ? { action } : {}) });
      // A finished reverse has detached it already; otherwise detach it here.
      if (!(await isAttached(policyId, input.accountId)))
        return result(action !== undefined && 'reversed' in action && action.reversed === true);
      if (input.dryRun) return result(false);
      try {
        await organizations.send(new DetachPolicyCommand({ PolicyId: policyId, TargetId: input.accountId }));
      } catch (err) {
        if (err instanceof PolicyNotAttachedException) return result(false);
        throw err;
      }
      return result(true);
    },
  };
}
