/**
 * The `sv0 up` step of the org family: validate org.yaml, budgets.yaml and notifications.yaml, then
 * create or update the `org-drift` Schedule that runs the drift check daily.
 */
import { ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { OrgDriftInput } from '../../lib/contracts/org';
import { ScheduleIds, TaskQueues, WorkflowTypes } from '../../lib/names';
import { loadNotificationsConfig } from '../../lib/runtime/config';
import { upsertSchedule } from '../schedules';
import type { UpStep } from '../up-step';
import { buildOrgBootstrapInput } from './bootstrap';

/** The drift check runs daily at 06:00 UTC unless told otherwise. */
const DEFAULT_DRIFT_CRON = '0 6 * * *';

/**
 * Create or update the `org-drift` Schedule: the drift workflow with the current config, daily,
 * one run at a time (overlap SKIP), catching up at most one missed run.
 */
export async function ensureOrgDriftSchedule(
  client: Client,
  input: OrgDriftInput,
  opts: { cron?: string; taskQueue?: string } = {},
): Promise<'created' | 'updated'> {
  return upsertSchedule(client, {
    scheduleId: ScheduleIds.orgDrift,
    spec: { cronExpressions: [opts.cron ?? DEFAULT_DRIFT_CRON] },
    action: {
      type: 'startWorkflow',
      workflowType: WorkflowTypes.orgDrift,
      workflowId: ScheduleIds.orgDrift,
      taskQueue: opts.taskQueue ?? TaskQueues.infra,
      args: [input],
      workflowExecutionTimeout: '1 hour',
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
  });
}

/** The `sv0 up` step: validate org.yaml, budgets.yaml and notifications.yaml, then create or update `org-drift`. */
export const orgDriftUpStep: UpStep = {
  name: 'org drift check',
  async validate(ctx) {
    await buildOrgBootstrapInput(ctx.configDir);
    loadNotificationsConfig(ctx.configDir);
  },
  async run(ctx) {
    const { desired } = await buildOrgBootstrapInput(ctx.configDir);
    const result = await ensureOrgDriftSchedule(ctx.client, {
      desired,
      sinks: loadNotificationsConfig(ctx.configDir).sinks,
    });
    return { status: result, detail: `daily (${DEFAULT_DRIFT_CRON} UTC)`, items: [ScheduleIds.orgDrift] };
  },
};
