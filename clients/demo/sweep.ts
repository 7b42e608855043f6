/**
 * The nightly sweep from the client side: its input from validated config, a run now (`sv0 sweep
 * run`), and the `demo-sweep` schedule that `sv0 up` keeps.
 */
import { ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import type { NotificationsConfig } from '../../lib/config/notifications';
import type { OrgConfig } from '../../lib/config/org';
import { allowedRegions } from '../../lib/config/region-lock';
import type { DemoSweepInput, DemoSweepResult, DeployAccess } from '../../lib/contracts/demo';
import { parseDuration } from '../../lib/duration';
import { sandboxOrg, type SandboxOrg } from '../../lib/sandbox';
import { ScheduleIds, TaskQueues, WorkflowTypes } from '../../lib/names';
import { upsertSchedule } from '../schedules';

export interface SweepRequest {
  targets: DeployAccess[];
  managementAccountId: string;
  /** org.yaml; its SCPs (RegionLock), when given, name the regions to sweep. */
  org: SandboxOrg & Partial<Pick<OrgConfig, 'serviceControlPolicies'>>;
  notifications: NotificationsConfig;
  apply: boolean;
  maxAge?: string;
}

/** The sweep workflow's input from validated config. */
export function buildSweepInput(req: SweepRequest): DemoSweepInput {
  const regions = allowedRegions({ serviceControlPolicies: req.org.serviceControlPolicies ?? [] });
  return {
    accounts: req.targets,
    org: sandboxOrg(req.org),
    managementAccountId: req.managementAccountId,
    apply: req.apply,
    ...(req.maxAge ? { maxAgeMs: parseDuration(req.maxAge, '--max-age') } : {}),
    notifications: req.notifications.sinks,
    ...(regions ? { regions } : {}),
  };
}

/** Run one sweep now and wait for its result. */
export async function runSweep(
  client: Client,
  input: DemoSweepInput,
  opts: { taskQueue?: string; workflowId?: string } = {},
): Promise<DemoSweepResult> {
  return client.workflow.execute(WorkflowTypes.demoSweep, {
    workflowId:
      opts.workflowId ?? `${ScheduleIds.demoSweep}-manual-${new Date().toISOString().replace(/[:.]/g, '-')}`,
    taskQueue: opts.taskQueue ?? TaskQueues.infra,
    args: [input],
  });
}

/** The nightly sweep schedule: 02:00 UTC, one run at a time, a missed night caught up within 6 h. Always applies. */
function demoSweepScheduleOptions(
  input: DemoSweepInput,
  opts: { taskQueue?: string; paused?: boolean } = {},
): ScheduleOptions {
  return {
    scheduleId: ScheduleIds.demoSweep,
    spec: { calendars: [{ hour: 2, minute: 0 }], timezone: 'UTC' },
    action: {
      type: 'startWorkflow',
      workflowType: WorkflowTypes.demoSweep,
      workflowId: `sv0-${ScheduleIds.demoSweep}`,
      taskQueue: opts.taskQueue ?? TaskQueues.infra,
      args: [{ ...input, apply: true }],
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: 6 * 3_600_000 },
    state: { paused: opts.paused ?? false, note: 'created by sv0 up: nightly demo sweep' },
  };
}

/**
 * Create the `demo-sweep` schedule, or update it to this input. With `paused` given, the schedule
 * is paused or unpaused to match; without it, an existing schedule keeps its state.
 */
export async function ensureDemoSweepSchedule(
  client: Client,
  input: DemoSweepInput,
  opts: { taskQueue?: string; paused?: boolean } = {},
): Promise<'created' | 'updated'> {
  return upsertSchedule(client, demoSweepScheduleOptions(input, opts), { paused: opts.paused });
}
