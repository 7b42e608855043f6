import {
  DescribeAccountCommand,
  DescribeOrganizationCommand,
  type OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { heartbeat, sleep } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import {
  DEMO_ACCOUNT_MEMO,
  demoIdFromWorkflowId,
  destroyNowUpdate,
  RUNNING_DEMOS_QUERY,
  statusQuery,
} from '../../lib/contracts/demo';
import {
  DestroyDemosInputSchema,
  ListRunningDemosInputSchema,
  WaitForDemosInputSchema,
} from '../../lib/contracts/demo-inputs';
import { ErrorType } from '../../lib/names';
import { assertWorkerSandboxTarget, type WorkerSandbox } from '../../lib/sandbox';
import { validInput } from '../input';

/**
 * Control of running demos from other workflows (the budget freeze destroys the live demos of an
 * account before it attaches FreezeAccount; the nightly sweep skips what running demos own).
 * A workflow cannot list other workflows, so these are activities holding a Temporal client.
 */

/** A running demo as visibility lists it. */
export interface RunningDemo {
  workflowId: string;
  demoId: string;
  accountId?: string;
}

export interface DemoControlDeps {
  /**
   * A Temporal client on the namespace where the demos run, or a function that makes one on first
   * use (the worker passes a lazy one, so it opens no second connection until a control call).
   */
  client: Client | (() => Promise<Client>);
  /** Organizations in the management account, to check an account live before its demos are destroyed. */
  organizations: OrganizationsClient;
  /** The worker's sandbox settings: demos are destroyed on request only in these accounts. */
  sandbox: WorkerSandbox;
}

export function createDemoControlActivities(deps: DemoControlDeps) {
  let resolved: Promise<Client> | undefined;
  const getClient = (): Promise<Client> =>
    (resolved ??= typeof deps.client === 'function' ? deps.client() : Promise.resolve(deps.client));

  async function accountOf(
    client: Client,
    workflowId: string,
    memo: Record<string, unknown> | undefined,
  ): Promise<string | undefined> {
    const fromMemo = memo?.[DEMO_ACCOUNT_MEMO];
    if (typeof fromMemo === 'string') return fromMemo;
    // The workflow writes the memo first thing; before that, ask it.
    try {
      return (await client.workflow.getHandle(workflowId).query(statusQuery)).accountId;
    } catch {
      return undefined;
    }
  }

  async function listRunning(accountId?: string): Promise<RunningDemo[]> {
    const client = await getClient();
    const found: RunningDemo[] = [];
    for await (const wf of client.workflow.list({ query: RUNNING_DEMOS_QUERY })) {
      const demoId = demoIdFromWorkflowId(wf.workflowId);
      if (!demoId) continue;
      const account = await accountOf(client, wf.workflowId, wf.memo);
      if (accountId === undefined || account === accountId)
        found.push({ workflowId: wf.workflowId, demoId, accountId: account });
    }
    return found;
  }

  /** The worker's sandbox check on `accountId`, against the live organization. */
  async function checkSandboxAccount(accountId: string): Promise<void> {
    const live = await deps.organizations.send(new DescribeOrganizationCommand({}));
    const account = await deps.organizations
      .send(new DescribeAccountCommand({ AccountId: accountId }))
      .catch((err: unknown) => {
        if (['AccountNotFoundException', 'InvalidInputException'].includes((err as Error).name))
          throw ApplicationFailure.nonRetryable(
            `${accountId} is not an account of this organization; demos are destroyed on request only in its sandbox accounts`,
            ErrorType.SandboxRefused,
          );
        throw err;
      });
    assertWorkerSandboxTarget({
      accountId,
      accountName: account.Account?.Name ?? '',
      managementAccountId: live.Organization?.MasterAccountId ?? '',
      sandbox: deps.sandbox,
    });
  }

  return {
    /** Running demos, optionally only those in one account (via visibility and the demo's memo). */
    async listRunningDemos(raw: { accountId?: string }): Promise<RunningDemo[]> {
      const input = validInput(ListRunningDemosInputSchema, raw, 'listRunningDemos');
      return listRunning(input.accountId);
    },

    /**
     * Ask every running demo in `accountId` to tear down now (the `destroyNow` update) and return
     * their workflow ids, so the caller can wait for them with {@link waitForDemosClosed}. A demo
     * that closed meanwhile is skipped. Safe to retry: destroyNow is accepted in any phase.
     */
    async destroyDemosInAccount(raw: {
      accountId: string;
      reason: string;
    }): Promise<{ workflowIds: string[] }> {
      const input = validInput(DestroyDemosInputSchema, raw, 'destroyDemosInAccount');
      await checkSandboxAccount(input.accountId);
      const demos = await listRunning(input.accountId);
      const client = await getClient();
      const workflowIds: string[] = [];
      for (const demo of demos) {
        try {
          await client.workflow
            .getHandle(demo.workflowId)
            .executeUpdate(destroyNowUpdate, { args: [input.reason] });
          workflowIds.push(demo.workflowId);
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) continue;
          throw err;
        }
        heartbeat(demo.workflowId);
      }
      return { workflowIds };
    },

    /**
     * Wait until every listed demo workflow has closed (destroyed, failed or otherwise), polling
     * its description and heartbeating. Returns each workflow's final status.
     * Give it a heartbeatTimeout longer than `pollMs`.
     */
    async waitForDemosClosed(raw: {
      workflowIds: string[];
      pollMs?: number;
    }): Promise<Record<string, string>> {
      const input = validInput(WaitForDemosInputSchema, raw, 'waitForDemosClosed');
      const pollMs = input.pollMs ?? 5000;
      const client = await getClient();
      const result: Record<string, string> = {};
      for (;;) {
        for (const id of input.workflowIds) {
          if (result[id]) continue;
          try {
            const d = await client.workflow.getHandle(id).describe();
            if (d.status.name !== 'RUNNING') result[id] = d.status.name;
          } catch (err) {
            if (err instanceof WorkflowNotFoundError) result[id] = 'NOT_FOUND';
            else throw err;
          }
        }
        const open = input.workflowIds.filter((id) => !result[id]);
        if (open.length === 0) return result;
        heartbeat({ open });
        await sleep(pollMs);
      }
    },
  };
}
