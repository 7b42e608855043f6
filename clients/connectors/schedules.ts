import {
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptions,
} from '@temporalio/client';
import {
  dependentsOf,
  heldBackBy,
  type ConnectorsConfig,
  type ConnectorSpec,
} from '../../lib/config/connectors';
import type { NotificationsConfig } from '../../lib/config/notifications';
import { parseDuration } from '../../lib/duration';
import { ScheduleIds, TaskQueues, WorkflowIds, WorkflowTypes } from '../../lib/names';
import {
  afterConfigSignal,
  afterStateQuery,
  ConnectorKey,
  healthConfigSignal,
  type ConnectorAfterConfig,
  type ConnectorHealthConfig,
  type ConnectorSyncInput,
} from '../../lib/contracts/connectors';
import type { connectorAfterWorkflow } from '../../workflows/connectors/after';
import type { connectorHealthWorkflow } from '../../workflows/connectors/health';
import { upsertSchedule } from '../schedules';

/**
 * One line of the plan `sv0 connectors apply` shows before it changes anything. For a connector
 * that runs after others, `scheduleId` is its `connector-after.<name>` workflow's id.
 */
export interface ScheduleChange {
  connector: string;
  scheduleId: string;
  action: 'create' | 'update' | 'delete' | 'unchanged';
  reason: string;
}

export interface ApplyOptions {
  /** Only compute the plan. */
  dryRun?: boolean;
  /** @default `connector-health` (tests use their own) */
  healthWorkflowId?: string;
  /** @default sv0-connectors */
  taskQueue?: string;
}

export interface ApplyResult {
  changes: ScheduleChange[];
  /** Whether the health workflow was started, or already ran and got the new config. */
  health: 'started' | 'updated' | 'skipped';
}

/**
 * The schedule of one connector: interval with jitter, overlap SKIP and an explicit catch-up
 * window. Its runs tell `dependents` (the connectors that run after it) how they ended.
 */
export function connectorScheduleOptions(
  c: ConnectorSpec,
  opts: ApplyOptions = {},
  dependents: string[] = [],
): ScheduleOptions {
  const input: ConnectorSyncInput = {
    connector: c,
    ...(opts.healthWorkflowId ? { healthWorkflowId: opts.healthWorkflowId } : {}),
    ...(dependents.length > 0 ? { dependents } : {}),
  };
  return {
    scheduleId: ScheduleIds.connector(c.name),
    spec: { intervals: [{ every: parseDuration(c.interval) }], jitter: parseDuration(c.jitter) },
    action: {
      type: 'startWorkflow',
      workflowType: WorkflowTypes.connectorSync,
      // The server appends the scheduled time, so each run has its own id.
      workflowId: ScheduleIds.connector(c.name),
      taskQueue: opts.taskQueue ?? TaskQueues.connectors,
      args: [input],
      typedSearchAttributes: [{ key: ConnectorKey, value: c.name }],
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: parseDuration(c.catchupWindow) },
    state: { note: 'created by sv0 connectors apply' },
  };
}

/**
 * The config the health workflow needs, built from the validated files. Connectors that run after
 * others are left out (they have no schedule to check for staleness or to pause): the alerts of
 * the connectors they wait on name them, one alert for the root cause.
 */
function healthConfigFrom(
  config: ConnectorsConfig,
  notifications: NotificationsConfig,
): ConnectorHealthConfig {
  return {
    connectors: config.connectors
      .filter((c) => c.enabled && !c.after)
      .map((c) => {
        const holdsBack = heldBackBy(config, c.name);
        return {
          name: c.name,
          interval: c.interval,
          pauseAfterFailedRuns: c.pauseAfterFailedRuns,
          ...(holdsBack.length > 0 ? { holdsBack } : {}),
        };
      }),
    platform: config.platform,
    checkEvery: config.healthCheckEvery,
    sinks: notifications.sinks,
  };
}

/** What decides whether a live schedule matches the file: its input, interval, jitter and catch-up window. */
function fingerprint(
  args: unknown,
  every: unknown,
  jitter: unknown,
  catchup: unknown,
  taskQueue: unknown,
): string {
  return JSON.stringify({
    args,
    every: Number(every),
    jitter: Number(jitter ?? 0),
    catchup: Number(catchup),
    taskQueue,
  });
}

/** What `connector-after.<name>` of a connector that runs after others is given. */
export function connectorAfterConfig(
  config: ConnectorsConfig,
  c: ConnectorSpec,
  opts: ApplyOptions = {},
): ConnectorAfterConfig {
  return {
    connector: c,
    dependents: dependentsOf(config, c.name),
    ...(opts.healthWorkflowId ? { healthWorkflowId: opts.healthWorkflowId } : {}),
  };
}

/** Names of the connectors whose `connector-after.` workflow runs (every one in the namespace). */
async function runningAfterWorkflows(client: Client): Promise<string[]> {
  const names: string[] = [];
  const query = `WorkflowType = '${WorkflowTypes.connectorAfter}' AND ExecutionStatus = 'Running'`;
  for await (const wf of client.workflow.list({ query })) {
    const prefix = WorkflowIds.connectorAfter('');
    if (wf.workflowId.startsWith(prefix)) names.push(wf.workflowId.slice(prefix.length));
  }
  return names;
}

/** The live config of a running `connector-after.` workflow, or undefined when it does not run. */
async function liveAfterConfig(client: Client, name: string): Promise<ConnectorAfterConfig | undefined> {
  try {
    return (await client.workflow.getHandle(WorkflowIds.connectorAfter(name)).query(afterStateQuery)).config;
  } catch {
    return undefined;
  }
}

/** Ids of every `connector-` schedule in the namespace (no other schedule is ever touched). */
async function connectorScheduleIds(client: Client): Promise<string[]> {
  const ids: string[] = [];
  for await (const s of client.schedule.list()) {
    if (s.scheduleId.startsWith(ScheduleIds.connectorPrefix)) ids.push(s.scheduleId);
  }
  return ids;
}

/** Compare the file with the live `connector-` schedules. */
export async function planConnectorSchedules(
  client: Client,
  config: ConnectorsConfig,
  opts: ApplyOptions = {},
): Promise<ScheduleChange[]> {
  const live = new Set(await connectorScheduleIds(client));
  const changes: ScheduleChange[] = [];
  const wantedAfter = new Set(config.connectors.filter((c) => c.enabled && c.after).map((c) => c.name));
  for (const name of await runningAfterWorkflows(client)) {
    if (!wantedAfter.has(name))
      changes.push({
        connector: name,
        scheduleId: WorkflowIds.connectorAfter(name),
        action: 'delete',
        reason: 'no longer runs after other connectors in connectors.yaml',
      });
  }
  for (const c of config.connectors) {
    const scheduleId = ScheduleIds.connector(c.name);
    if (c.enabled && c.after) {
      if (live.has(scheduleId))
        changes.push({
          connector: c.name,
          scheduleId,
          action: 'delete',
          reason: `runs after ${c.after.join(', ')}`,
        });
      const afterId = WorkflowIds.connectorAfter(c.name);
      const running = await liveAfterConfig(client, c.name);
      const same =
        running !== undefined &&
        JSON.stringify(running) === JSON.stringify(connectorAfterConfig(config, c, opts));
      changes.push({
        connector: c.name,
        scheduleId: afterId,
        action: running === undefined ? 'create' : same ? 'unchanged' : 'update',
        reason: same ? '' : `runs after ${c.after.join(', ')}`,
      });
      continue;
    }
    if (!c.enabled) {
      if (live.has(scheduleId))
        changes.push({
          connector: c.name,
          scheduleId,
          action: 'delete',
          reason: 'disabled in connectors.yaml',
        });
      continue;
    }
    if (!live.has(scheduleId)) {
      changes.push({ connector: c.name, scheduleId, action: 'create', reason: `every ${c.interval}` });
      continue;
    }
    const want = connectorScheduleOptions(c, opts, dependentsOf(config, c.name));
    const d = await client.schedule.getHandle(scheduleId).describe();
    const liveAction = d.action.type === 'startWorkflow' ? d.action : undefined;
    const same =
      liveAction !== undefined &&
      fingerprint(
        liveAction.args,
        d.spec.intervals?.[0]?.every,
        d.spec.jitter,
        d.policies.catchupWindow,
        liveAction.taskQueue,
      ) ===
        fingerprint(
          want.action.args,
          parseDuration(c.interval),
          parseDuration(c.jitter),
          parseDuration(c.catchupWindow),
          want.action.taskQueue,
        );
    changes.push({
      connector: c.name,
      scheduleId,
      action: same ? 'unchanged' : 'update',
      reason: same ? '' : 'differs from connectors.yaml',
    });
  }
  const declared = new Set(config.connectors.map((c) => ScheduleIds.connector(c.name)));
  for (const id of live) {
    if (!declared.has(id)) {
      changes.push({
        connector: id.slice(ScheduleIds.connectorPrefix.length),
        scheduleId: id,
        action: 'delete',
        reason: 'not in connectors.yaml',
      });
    }
  }
  return changes;
}

/**
 * Make the `connector-` schedules match the file (create, update, delete; a paused schedule stays
 * paused) and start `connector-health`, or hand it the new config when it runs. Idempotent: `sv0 up`
 * calls it on every start.
 */
export async function applyConnectorSchedules(
  client: Client,
  config: ConnectorsConfig,
  notifications: NotificationsConfig,
  opts: ApplyOptions = {},
): Promise<ApplyResult> {
  const changes = await planConnectorSchedules(client, config, opts);
  if (opts.dryRun) return { changes, health: 'skipped' };
  for (const change of changes) {
    const spec = config.connectors.find((c) => c.name === change.connector);
    if (change.scheduleId === WorkflowIds.connectorAfter(change.connector)) {
      await applyAfterChange(client, config, change, spec, opts);
      continue;
    }
    const handle = client.schedule.getHandle(change.scheduleId);
    if ((change.action === 'create' || change.action === 'update') && spec) {
      await upsertSchedule(client, connectorScheduleOptions(spec, opts, dependentsOf(config, spec.name)));
    } else if (change.action === 'delete') {
      await handle.delete().catch((err: unknown) => {
        if (!(err instanceof ScheduleNotFoundError)) throw err;
      });
    }
  }
  const healthConfig = healthConfigFrom(config, notifications);
  const workflowId = opts.healthWorkflowId ?? WorkflowIds.connectorHealth;
  const before = await client.workflow
    .getHandle(workflowId)
    .describe()
    .then((d) => d.status.name === 'RUNNING')
    .catch(() => false);
  await client.workflow.signalWithStart<typeof connectorHealthWorkflow, [ConnectorHealthConfig]>(
    WorkflowTypes.connectorHealth,
    {
      workflowId,
      taskQueue: opts.taskQueue ?? TaskQueues.connectors,
      args: [{ config: healthConfig }],
      signal: healthConfigSignal,
      signalArgs: [healthConfig],
    },
  );
  return { changes, health: before ? 'updated' : 'started' };
}

/** Start `connector-after.<name>` or hand it the new config; or stop it when it is no longer wanted. */
async function applyAfterChange(
  client: Client,
  config: ConnectorsConfig,
  change: ScheduleChange,
  spec: ConnectorSpec | undefined,
  opts: ApplyOptions,
): Promise<void> {
  if (change.action === 'delete') {
    // A run it started is abandoned, not killed: it finishes like a scheduled run.
    await client.workflow
      .getHandle(change.scheduleId)
      .terminate('sv0 connectors apply: no longer runs after other connectors')
      .catch(() => undefined);
    return;
  }
  if ((change.action !== 'create' && change.action !== 'update') || !spec) return;
  const afterConfig = connectorAfterConfig(config, spec, opts);
  await client.workflow.signalWithStart<typeof connectorAfterWorkflow, [ConnectorAfterConfig]>(
    WorkflowTypes.connectorAfter,
    {
      workflowId: change.scheduleId,
      taskQueue: opts.taskQueue ?? TaskQueues.connectors,
      args: [{ config: afterConfig }],
      signal: afterConfigSignal,
      signalArgs: [afterConfig],
      typedSearchAttributes: [{ key: ConnectorKey, value: spec.name }],
    },
  );
}

/** A run that a trigger started, or the one already running (overlap SKIP starts no second one). */
export interface TriggeredRun {
  workflowId: string;
  runId: string;
  alreadyRunning: boolean;
}

/**
 * Trigger a connector's schedule now, with the overlap policy stated (the SDK's default for a trigger
 * is ALLOW_ALL, the schedule's own is SKIP), and find the run it started.
 */
export async function triggerConnectorRun(
  client: Client,
  connector: string,
  timeoutMs = 30_000,
): Promise<TriggeredRun> {
  const handle = client.schedule.getHandle(ScheduleIds.connector(connector));
  const before = await handle.describe();
  const running = before.info.runningActions[0];
  if (running)
    return {
      workflowId: running.workflow.workflowId,
      runId: running.workflow.firstExecutionRunId,
      alreadyRunning: true,
    };
  // By run, not workflow id: the schedule names a run after its time to the second, so two
  // triggers within one second start two runs under one workflow id.
  const key = (w: { workflowId: string; firstExecutionRunId: string }) =>
    `${w.workflowId}/${w.firstExecutionRunId}`;
  const seen = new Set(before.info.recentActions.map((a) => key(a.action.workflow)));
  await handle.trigger(ScheduleOverlapPolicy.SKIP);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = await handle.describe();
    const found = [
      ...d.info.runningActions.map((a) => a.workflow),
      ...d.info.recentActions.map((a) => a.action.workflow),
    ].find((w) => !seen.has(key(w)));
    if (found)
      return { workflowId: found.workflowId, runId: found.firstExecutionRunId, alreadyRunning: false };
    if (Date.now() > deadline)
      throw new Error(
        `the schedule ${ScheduleIds.connector(connector)} started no run within ${timeoutMs / 1000}s of the trigger`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}
