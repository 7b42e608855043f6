import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import {
  budgetAlertSignal,
  BudgetSearchAttributes,
  budgetStatusQuery,
  reconfigureSignal,
  type BudgetAlert,
  type BudgetGuardConfig,
  type BudgetGuardStatus,
} from '../../lib/contracts/budget';
import type { BudgetsConfig } from '../../lib/config/budgets';
import type { NotificationsConfig } from '../../lib/config/notifications';
import { sandboxOrg, type SandboxOrg } from '../../lib/sandbox';
import { TaskQueues, WorkflowIds, WorkflowTypes } from '../../lib/names';
import type { budgetGuardWorkflow } from '../../workflows/budget/guard';

/**
 * Client side of the budget guards: start them (for `sv0 up`), read their status, and signal a
 * guard when AWS Budgets alerts (`sv0 budget alert`, alerts-endpoint.ts).
 */

export interface StartBudgetGuardsInput {
  budgets: BudgetsConfig;
  org: SandboxOrg;
  notifications: NotificationsConfig;
  /** Decide and notify, but destroy and attach nothing. */
  dryRun?: boolean;
  /** @default sv0-infra */
  taskQueue?: string;
}

/** The validated config each guard runs with. */
function guardConfigs(input: StartBudgetGuardsInput): BudgetGuardConfig[] {
  const org = sandboxOrg(input.org);
  return input.budgets.budgets.map((budget) => ({
    budget,
    org,
    notifications: input.notifications.sinks,
    dryRun: input.dryRun ?? false,
  }));
}

/**
 * Start one guard per budget, idempotently: signal-with-start `reconfigure`, so a running guard
 * takes the new config (and checks again) and a missing one starts with it. Returns the workflow ids.
 */
export async function startBudgetGuards(
  client: Client,
  input: StartBudgetGuardsInput,
): Promise<{ name: string; workflowId: string }[]> {
  const started: { name: string; workflowId: string }[] = [];
  for (const config of guardConfigs(input)) {
    const workflowId = WorkflowIds.budget(config.budget.name);
    await client.workflow.signalWithStart<typeof budgetGuardWorkflow, [BudgetGuardConfig]>(
      WorkflowTypes.budgetGuard,
      {
        workflowId,
        taskQueue: input.taskQueue ?? TaskQueues.infra,
        args: [config],
        signal: reconfigureSignal,
        signalArgs: [config],
        typedSearchAttributes: [{ key: BudgetSearchAttributes.budget, value: config.budget.name }],
      },
    );
    started.push({ name: config.budget.name, workflowId });
  }
  return started;
}

/** The status of one guard, or undefined when it is not running. */
export async function budgetGuardStatus(
  client: Client,
  name: string,
): Promise<BudgetGuardStatus | undefined> {
  try {
    return await client.workflow.getHandle(WorkflowIds.budget(name)).query(budgetStatusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** Send a budget alert to the named budget's guard. Throws WorkflowNotFoundError when none runs. */
export async function signalBudgetAlert(
  client: Client,
  budgetName: string,
  alert: BudgetAlert,
): Promise<string> {
  const workflowId = WorkflowIds.budget(budgetName);
  await client.workflow.getHandle(workflowId).signal(budgetAlertSignal, alert);
  return workflowId;
}
