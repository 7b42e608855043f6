/**
 * The check behind connectors that run after others. Their `connector-after.<name>` workflow
 * learns of upstream runs by a signal, and anyone who can reach the namespace can send one (for
 * example with `temporal workflow signal`). So before a report counts, this activity looks the run
 * up in Temporal itself: a `connectorSyncWorkflow` run with that connector's search attribute,
 * started by the connector's own schedule or by its own `connector-after.` workflow (the server
 * records both; no client can forge them), and closed. Its outcome is the run's, not the report's.
 */
import { Context } from '@temporalio/activity';
import {
  WorkflowNotFoundError,
  type Client,
  type ScheduleDescription,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import { ConnectorKey, type UpstreamRunCheck } from '../../lib/contracts/connectors';
import {
  VerifyUpstreamRunInputSchema,
  type VerifyUpstreamRunInput,
} from '../../lib/contracts/connectors-inputs';
import { ScheduleIds, WorkflowIds, WorkflowTypes } from '../../lib/names';
import type { Logger } from '../../lib/runtime/logger';
import { validInput } from '../input';

export interface ConnectorAfterActivityDeps {
  logger: Logger;
  /**
   * How long to wait for a run that is still closing (it reports before it ends). Past it the
   * activity fails retryably.
   * @default 60 seconds
   */
  closeWaitMs?: number;
}

const POLL_MS = 500;

/** Whether the connector's schedule started this run (its recent actions, as the server keeps them). */
async function startedBySchedule(client: Client, upstream: string, d: WorkflowExecutionDescription) {
  let schedule: ScheduleDescription;
  try {
    schedule = await client.schedule.getHandle(ScheduleIds.connector(upstream)).describe();
  } catch (err) {
    if ((err as Error).name === 'ScheduleNotFoundError') return false;
    throw err;
  }
  return schedule.info.recentActions.some(
    (a) => a.action.workflow.workflowId === d.workflowId && a.action.workflow.firstExecutionRunId === d.runId,
  );
}

export function createConnectorAfterActivities(deps: ConnectorAfterActivityDeps) {
  const closeWaitMs = deps.closeWaitMs ?? 60_000;
  return {
    /**
     * Whether the run an upstream report names is a real, closed run of that upstream, and how it
     * ended. Waits (heartbeating) while the run is still closing.
     */
    async verifyUpstreamRun(raw: VerifyUpstreamRunInput): Promise<UpstreamRunCheck> {
      const ctx = Context.current();
      const input = validInput(VerifyUpstreamRunInputSchema, raw, 'verifyUpstreamRun');
      const { client } = ctx;
      const handle = client.workflow.getHandle(input.workflowId, input.runId);
      const what = `run ${input.workflowId} reported as ${input.upstream}`;
      const refuse = (reason: string): UpstreamRunCheck => {
        // The workflow warns (with the reason); here the details for the worker's log.
        deps.logger.info(
          { dependent: input.dependent, upstream: input.upstream, workflowId: input.workflowId, reason },
          'an upstream report was not counted',
        );
        return { genuine: false, reason: `${what}: ${reason}` };
      };
      const deadline = Date.now() + closeWaitMs;
      let originChecked = false;
      for (;;) {
        let d: WorkflowExecutionDescription;
        try {
          d = await handle.describe();
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) return refuse('no such workflow run');
          throw err;
        }
        if (!originChecked) {
          if (d.type !== WorkflowTypes.connectorSync) return refuse(`a ${d.type}, not a connector run`);
          const connector = d.typedSearchAttributes.get(ConnectorKey);
          if (connector !== input.upstream) return refuse(`a run of ${connector ?? 'no connector'}`);
          const byAfter = d.parentExecution?.workflowId === WorkflowIds.connectorAfter(input.upstream);
          if (!byAfter && !(await startedBySchedule(client, input.upstream, d)))
            return refuse(
              `not started by schedule ${ScheduleIds.connector(input.upstream)} or by ${WorkflowIds.connectorAfter(input.upstream)}`,
            );
          originChecked = true;
        }
        if (d.status.name !== 'RUNNING') {
          return {
            genuine: true,
            ok: d.status.name === 'COMPLETED',
            runId: d.runId,
            endedAt: (d.closeTime ?? new Date()).toISOString(),
          };
        }
        if (Date.now() > deadline)
          throw new Error(`${what}: still running after ${closeWaitMs / 1000}s; asking again`);
        ctx.heartbeat();
        await ctx.sleep(POLL_MS);
      }
    },
  };
}
