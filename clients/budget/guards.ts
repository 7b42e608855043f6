import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
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
import { parseSnsBudgetMessage } from '../../lib/budget-alert';
import type { BudgetsConfig } from '../../lib/config/budgets';
import type { NotificationsConfig } from '../../lib/config/notifications';
import { sandboxOrg, type SandboxOrg } from '../../lib/sandbox';
import { TaskQueues, WorkflowIds, WorkflowTypes } from '../../lib/names';
import type { budgetGuardWorkflow } from '../../workflows/budget/guard';

/**
 * Client side of the budget guards: start them (for `sv0 up`), read their status, and turn AWS
 * budget alerts (SNS) into signals.
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

async function readBody(req: IncomingMessage, limit = 256 * 1024): Promise<string> {
  let body = '';
  for await (const chunk of req) {
    body += (chunk as Buffer).toString('utf8');
    if (body.length > limit) throw new Error('body too large');
  }
  return body;
}

/**
 * A tiny HTTP handler for an SNS HTTP(S) subscription to the budget alerts topic: a Notification
 * signals the named budget's guard to check now (202), an unknown budget answers 404, a
 * SubscriptionConfirmation is confirmed by fetching SNS's own SubscribeURL. Mount it on any
 * `http.createServer` (see `sv0 budget alerts-endpoint`).
 */
export function createBudgetAlertHandler(
  client: Client,
  opts: { fetch?: typeof fetch } = {},
): RequestListener {
  const doFetch = opts.fetch ?? globalThis.fetch;
  const reply = (res: ServerResponse, status: number, text: string) =>
    res.writeHead(status, { 'content-type': 'text/plain' }).end(`${text}\n`);
  return (req, res) => {
    void (async () => {
      if (req.method !== 'POST') return reply(res, 405, 'POST an SNS message');
      try {
        const message = parseSnsBudgetMessage(await readBody(req));
        if (message.kind === 'ignored') return reply(res, 200, `ignored: ${message.reason}`);
        if (message.kind === 'subscription-confirmation') {
          const confirm = await doFetch(message.subscribeUrl);
          return reply(
            res,
            confirm.ok ? 200 : 502,
            confirm.ok ? 'subscription confirmed' : `SNS answered ${confirm.status}`,
          );
        }
        const id = await signalBudgetAlert(client, message.budgetName, {
          source: 'http',
          receivedAt: new Date().toISOString(),
          summary: message.summary,
        });
        return reply(res, 202, `signalled ${id}`);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError)
          return reply(res, 404, 'no budget guard runs for that budget');
        const name = (err as Error).name;
        return reply(res, name === 'BudgetAlertError' ? 400 : 500, (err as Error).message);
      }
    })();
  };
}
