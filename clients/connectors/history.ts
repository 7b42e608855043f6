/**
 * `sv0 connectors history`: a connector's last runs, read from Temporal. Visibility lists the
 * connector's `connectorSyncWorkflow` runs (scheduled, triggered, or started after its upstreams);
 * each run's result, or its failure's details, carries the container's log tail as the run
 * activity recorded it, with the connector's secrets already redacted there.
 */
import { WorkflowFailedError, type Client, type WorkflowExecutionInfo } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, type TerminatedFailure } from '@temporalio/common';
import type { RunConnectorResult } from '../../lib/contracts/connectors';
import { failureReason } from '../../lib/failures';
import { SearchAttributes, WorkflowTypes } from '../../lib/names';

/** One run as `sv0 connectors history` shows it. Times are ISO-8601 UTC. */
export interface ConnectorRun {
  workflowId: string;
  runId: string;
  startedAt: string;
  /** Absent while it runs. */
  endedAt?: string;
  /** From the start of the run to its end (retries and their backoff included), or until now. */
  durationMs: number;
  /** `running`, `succeeded`, `failed`, `timed out`, `cancelled`, `terminated`. */
  result: string;
  /** Attempts of the container run so far (the retry policy's count); absent when none started. */
  attempts?: number;
  /** The container's exit code of the last attempt, when it exited. */
  exitCode?: number;
  /** Why it failed: the error type and message (no secret: the activity builds them without). */
  error?: string;
  /** The last lines of the last attempt's output, secrets redacted by the run activity. */
  logTail: string[];
}

const RESULTS: Record<string, string> = {
  RUNNING: 'running',
  COMPLETED: 'succeeded',
  FAILED: 'failed',
  TIMED_OUT: 'timed out',
  CANCELLED: 'cancelled',
  TERMINATED: 'terminated',
  CONTINUED_AS_NEW: 'continued',
};

/**
 * The connector's last `limit` runs, newest first. Visibility answers running runs first, then by
 * close time: the first `limit` of its answer are the newest.
 */
export async function connectorRuns(
  client: Client,
  connector: string,
  limit: number,
): Promise<ConnectorRun[]> {
  const query = `WorkflowType = '${WorkflowTypes.connectorSync}' AND ${SearchAttributes.connector} = '${connector}'`;
  const infos: WorkflowExecutionInfo[] = [];
  for await (const wf of client.workflow.list({ query, pageSize: limit })) {
    infos.push(wf);
    if (infos.length >= limit) break;
  }
  const runs = await Promise.all(infos.map((info) => runOf(client, info)));
  return runs.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
}

async function runOf(client: Client, info: WorkflowExecutionInfo): Promise<ConnectorRun> {
  const end = info.closeTime ?? new Date();
  const run: ConnectorRun = {
    workflowId: info.workflowId,
    runId: info.runId,
    startedAt: info.startTime.toISOString(),
    ...(info.closeTime ? { endedAt: info.closeTime.toISOString() } : {}),
    durationMs: Math.max(0, end.getTime() - info.startTime.getTime()),
    result: RESULTS[info.status.name] ?? info.status.name.toLowerCase(),
    logTail: [],
  };
  const handle = client.workflow.getHandle(info.workflowId, info.runId, { followRuns: false });
  if (info.status.name === 'RUNNING') {
    const attempt = (await handle.describe()).raw.pendingActivities?.[0]?.attempt;
    if (attempt) run.attempts = attempt;
    return run;
  }
  run.attempts = await attemptsOf(client, info);
  try {
    fill(run, (await handle.result()) as RunConnectorResult);
  } catch (err) {
    const cause = err instanceof WorkflowFailedError ? err.cause : err;
    run.error = failureReason(cause as Error | TerminatedFailure);
    // A failed attempt's report travels as the failure's details (see the run activity).
    const root = cause instanceof ActivityFailure ? cause.cause : cause;
    if (root instanceof ApplicationFailure) {
      const report = root.details?.[0] as Partial<RunConnectorResult> | undefined;
      if (report && Array.isArray(report.logTail)) fill(run, report);
    }
  }
  return run;
}

function fill(run: ConnectorRun, r: Partial<RunConnectorResult>): void {
  if (typeof r.exitCode === 'number' && !r.timedOut) run.exitCode = r.exitCode;
  if (typeof r.attempt === 'number') run.attempts = Math.max(run.attempts ?? 0, r.attempt);
  run.logTail = (r.logTail ?? []).filter((l): l is string => typeof l === 'string');
}

/** The attempt number of the run activity's last start, from the history (no payload in it). */
async function attemptsOf(client: Client, info: WorkflowExecutionInfo): Promise<number | undefined> {
  const history = await client.workflow.getHandle(info.workflowId, info.runId).fetchHistory();
  let attempt: number | undefined;
  for (const e of history.events ?? []) {
    const started = e.activityTaskStartedEventAttributes;
    if (started?.attempt) attempt = started.attempt;
  }
  return attempt;
}
