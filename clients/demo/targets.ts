/**
 * The sandbox accounts demos and the sweep may act in: those config/org.yaml marks sandbox, found
 * by name in the live organization, each with the deploy role to reach it, checked before use.
 */
import {
  DescribeOrganizationCommand,
  paginateListAccounts,
  paginateListPoliciesForTarget,
  type OrganizationsClient,
} from '@aws-sdk/client-organizations';
import type { CostExplorerClient } from '@aws-sdk/client-cost-explorer';
import type { BudgetsConfig } from '../../lib/config/budgets';
import { demoBlockingBudgets, forecastBlocksDemos, forecastRefusal } from '../../lib/budget-forecast';
import { readMonthForecast } from '../../activities/budget/forecast';
import { FREEZE_POLICY_NAME } from '../../lib/names';
import { deployRoleFor, sandboxAccounts, type OrgConfig } from '../../lib/config/org';
import type { DeployAccess } from '../../lib/contracts/demo';
import { checkSandboxTarget, sandboxOrg } from '../../lib/sandbox';
import { CliError, ExitCode } from '../errors';

const bad = (message: string) => new CliError(message, ExitCode.BadInput);

/**
 * Refuse (exit 1) a demo in a frozen account before anything changes: FreezeAccount attached to
 * it, read from the management account. Names the budget that freezes the account (budgets.yaml)
 * and how to unfreeze; the worker refuses it again on its own (the demo's first activity).
 */
export async function assertNotFrozen(
  organizations: OrganizationsClient,
  target: DeployAccess,
  budgets: BudgetsConfig | undefined,
): Promise<void> {
  for await (const page of paginateListPoliciesForTarget(
    { client: organizations },
    { TargetId: target.accountId, Filter: 'SERVICE_CONTROL_POLICY' },
  )) {
    if (!(page.Policies ?? []).some((p) => p.Name === FREEZE_POLICY_NAME && !p.AwsManaged)) continue;
    const names = (budgets?.budgets ?? [])
      .filter((b) => b.account === target.accountName && b.freezeAt !== undefined)
      .map((b) => b.name);
    const budget = names.length ? `budget ${names.join(', ')}` : 'a budget freeze';
    const unfreeze = names.length === 1 ? names[0]! : 'NAME';
    throw new CliError(
      `account ${target.accountName} (${target.accountId}) is frozen by ${budget} (${FREEZE_POLICY_NAME} attached): no demo starts there. Unfreeze with \`sv0 budget unfreeze ${unfreeze} --by WHO --reason TEXT\`, or wait for the next UTC month`,
      ExitCode.Failed,
    );
  }
}

/**
 * Refuse (exit 1) a demo into an account one of whose budgets sets `forecastAction: block-demos`
 * while Cost Explorer forecasts the month past the budget, naming the budget, the forecast and what
 * to do; the worker reads the forecast again in the demo's first activity. Without such a budget it
 * reads nothing.
 */
export async function assertForecastAllows(
  ce: Pick<CostExplorerClient, 'send'>,
  target: DeployAccess,
  budgets: BudgetsConfig | undefined,
): Promise<void> {
  for (const budget of demoBlockingBudgets(budgets, target.accountName)) {
    const forecast = await readMonthForecast(ce, budget, target.accountId).catch((err: unknown) => {
      // A service's answer (denied, invalid) says what to fix; a connection failure keeps its own exit code.
      if (!(err as { $fault?: string }).$fault) throw err;
      throw new CliError(
        `budget ${budget.name}: cannot read Cost Explorer's forecast (${(err as Error).name}: ${(err as Error).message}); forecastAction: block-demos needs it to start a demo in ${target.accountName}`,
        ExitCode.Failed,
      );
    });
    if (forecastBlocksDemos(forecast)) throw new CliError(forecastRefusal(forecast), ExitCode.Failed);
  }
}

/** Sandbox accounts of config/org.yaml found in the live organization, with the deploy role to reach each. */
export async function resolveSandboxTargets(
  organizations: OrganizationsClient,
  org: OrgConfig,
  only?: { accountName?: string; accountId?: string },
): Promise<{ managementAccountId: string; targets: DeployAccess[] }> {
  const managementAccountId =
    (await organizations.send(new DescribeOrganizationCommand({}))).Organization?.MasterAccountId ?? '';
  const live = new Map<string, string>();
  for await (const page of paginateListAccounts({ client: organizations }, {})) {
    for (const a of page.Accounts ?? []) if (a.Name && a.Id) live.set(a.Name, a.Id);
  }
  const liveNameOf = (id: string) => [...live.entries()].find(([, v]) => v === id)?.[0];
  let names = sandboxAccounts(org).map((a) => a.name);
  if (only?.accountName) names = [only.accountName];
  if (only?.accountId) {
    const name = liveNameOf(only.accountId);
    if (!name) throw bad(`--account ${only.accountId}: no such account in the live organization`);
    names = [name];
  }
  if (names.length === 0) throw bad('config/org.yaml: accounts: no account is marked sandbox: true');
  const targets: DeployAccess[] = [];
  for (const name of names) {
    const accountId = live.get(name);
    if (!accountId)
      throw bad(
        `config/org.yaml: account ${name} is not in the live organization; run \`sv0 org apply\` first`,
      );
    const role = deployRoleFor(org, name);
    if (!role)
      throw bad(`config/org.yaml: crossAccountRoles: no sv0-orchestrator-deploy role for account ${name}`);
    const target: DeployAccess = {
      accountId,
      accountName: name,
      roleName: role.roleName,
      externalId: role.externalId,
    };
    const check = checkSandboxTarget({ ...target, org: sandboxOrg(org), managementAccountId });
    if (!check.ok) throw new CliError(`refused: ${check.reason}`, ExitCode.BadInput);
    targets.push(target);
  }
  return { managementAccountId, targets };
}
