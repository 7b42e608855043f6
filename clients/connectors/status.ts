import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import type { ConnectorsConfig } from '../../lib/config/connectors';
import { parseDuration } from '../../lib/duration';
import { ScheduleIds, SearchAttributes, WorkflowIds, WorkflowTypes } from '../../lib/names';
import {
  afterStateQuery,
  afterWaitReason,
  healthStateQuery,
  type HealthState,
} from '../../lib/contracts/connectors';

/** One connector as `sv0 connectors list|status` shows it. Times are ISO-8601 UTC. */
export interface ConnectorStatus {
  connector: string;
  enabled: boolean;
  interval: string;
  /**
   * `active`, `paused`, `absent` (no schedule: disabled, or not applied yet), or `after` (it runs
   * after the connectors in {@link ConnectorStatus.after}).
   */
  schedule: 'active' | 'paused' | 'absent' | 'after';
  /** The connectors it runs after. */
  after?: string[];
  /**
   * For a connector that runs after others: `held: a failed`, `waiting on a, b`, `running`, or
   * `not applied` when its `connector-after.` workflow does not run.
   */
  waiting?: string;
  note?: string;
  lastRun?: { workflowId: string; startedAt: string; status: string };
  lastSuccessAt?: string;
  nextRunAt?: string;
  /** From `connector-health` when it runs (the platform's view), else from the last success here. */
  stale: boolean | 'unknown';
  staleSource: 'connector-health' | 'last success' | 'none';
  failedInARow?: number;
}

async function healthState(
  client: Client,
  workflowId: string,
): Promise<(HealthState & { connectors: string[] }) | undefined> {
  try {
    return await client.workflow.getHandle(workflowId).query(healthStateQuery);
  } catch {
    return undefined; // not running: staleness falls back to the last success seen here
  }
}

async function lastSuccess(client: Client, connector: string): Promise<string | undefined> {
  const query = `WorkflowType = '${WorkflowTypes.connectorSync}' AND ${SearchAttributes.connector} = '${connector}' AND ExecutionStatus = 'Completed'`;
  let newest: Date | undefined;
  for await (const wf of client.workflow.list({ query, pageSize: 20 })) {
    const t = wf.closeTime ?? wf.startTime;
    if (!newest || t > newest) newest = t;
  }
  return newest?.toISOString();
}

/** Gather what the CLI shows for each connector (all, or only `only`). */
export async function connectorStatuses(
  client: Client,
  config: ConnectorsConfig,
  opts: { only?: string; healthWorkflowId?: string; now?: Date } = {},
): Promise<ConnectorStatus[]> {
  const health = await healthState(client, opts.healthWorkflowId ?? WorkflowIds.connectorHealth);
  const now = (opts.now ?? new Date()).getTime();
  const out: ConnectorStatus[] = [];
  for (const c of config.connectors.filter((x) => !opts.only || x.name === opts.only)) {
    const row: ConnectorStatus = {
      connector: c.name,
      enabled: c.enabled,
      interval: c.interval,
      schedule: 'absent',
      stale: 'unknown',
      staleSource: 'none',
      failedInARow: health?.failedInARow[c.name],
    };
    if (c.after && c.enabled) {
      out.push(await afterStatus(client, row, c.after, now));
      continue;
    }
    try {
      const d = await client.schedule.getHandle(ScheduleIds.connector(c.name)).describe();
      row.schedule = d.state.paused ? 'paused' : 'active';
      row.note = d.state.note;
      row.nextRunAt = d.state.paused ? undefined : d.info.nextActionTimes[0]?.toISOString();
      const recent = d.info.recentActions.at(-1);
      if (recent) {
        const { workflowId, firstExecutionRunId } = recent.action.workflow;
        const status = await client.workflow
          .getHandle(workflowId, firstExecutionRunId)
          .describe()
          .then((w) => w.status.name)
          .catch(() => 'UNKNOWN');
        row.lastRun = { workflowId, startedAt: recent.takenAt.toISOString(), status };
      }
      row.lastSuccessAt = await lastSuccess(client, c.name);
      if (health && health.connectors.includes(c.name)) {
        row.stale = health.incidents[c.name] !== undefined;
        row.staleSource = 'connector-health';
      } else {
        const since = Date.parse(row.lastSuccessAt ?? d.info.createdAt.toISOString());
        row.stale = now - since > 2 * parseDuration(c.interval);
        row.staleSource = 'last success';
      }
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
    out.push(row);
  }
  return out;
}

/** The status of a connector that runs after others, from its `connector-after.` workflow. */
async function afterStatus(
  client: Client,
  row: ConnectorStatus,
  after: string[],
  now: number,
): Promise<ConnectorStatus> {
  row.schedule = 'after';
  row.after = after;
  const state = await client.workflow
    .getHandle(WorkflowIds.connectorAfter(row.connector))
    .query(afterStateQuery)
    .catch(() => undefined);
  row.waiting = state ? afterWaitReason(state, after) : 'not applied';
  const last = state?.running ?? state?.lastRun;
  if (last) {
    const status = await client.workflow
      .getHandle(last.workflowId)
      .describe()
      .then((w) => w.status.name)
      .catch(() => 'UNKNOWN');
    row.lastRun = { workflowId: last.workflowId, startedAt: last.startedAt, status };
  }
  row.lastSuccessAt = await lastSuccess(client, row.connector);
  if (row.lastSuccessAt) {
    row.stale = now - Date.parse(row.lastSuccessAt) > 2 * parseDuration(row.interval);
    row.staleSource = 'last success';
  }
  return row;
}
