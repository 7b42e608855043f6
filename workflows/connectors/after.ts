import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import {
  afterConfigSignal,
  afterStateQuery,
  ConnectorKey,
  upstreamFinishedSignal,
  type ConnectorAfterConfig,
  type ConnectorAfterInput,
  type ConnectorAfterState,
  type UpstreamReport,
} from '../../lib/contracts/connectors';
import { NON_RETRYABLE_ERROR_TYPES, WorkflowIds } from '../../lib/names';
import { failureReason } from '../../lib/failures';
import type { createConnectorAfterActivities } from '../../activities/connectors/after';
import { connectorSyncWorkflow } from './sync';

const { verifyUpstreamRun } = proxyActivities<ReturnType<typeof createConnectorAfterActivities>>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '2 seconds',
    maximumInterval: '1 minute',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  },
});

/** Continue-as-new after this many runs, whatever the history size. */
const RUNS_PER_HISTORY = 100;

/**
 * A connector that runs after others, as one long-running workflow (`connector-after.<name>`):
 * each upstream sync run signals how it ended; once every upstream has succeeded since this
 * connector's last run, the last of those successes starts a `connectorSyncWorkflow` run as a
 * child. A trigger while a run is in progress is dropped (overlap SKIP, as for schedules). A
 * failed upstream holds it back until that upstream succeeds again. A report counts only once the
 * worker has found the run it names in Temporal: a real run of that upstream (started by its
 * schedule or its own `connector-after.` workflow) that ended after this connector's last trigger;
 * its outcome is the run's. A forged signal starts nothing.
 */
export async function connectorAfterWorkflow(input: ConnectorAfterInput): Promise<void> {
  let config = input.config;
  const state: ConnectorAfterState = input.state ?? { upstreams: {}, skipped: 0 };
  let triggered = false;
  let runsThisHistory = 0;

  const follow = (c: ConnectorAfterConfig) => {
    const after = c.connector.after ?? [];
    for (const name of after) state.upstreams[name] ??= { succeededSinceRun: false };
    for (const name of Object.keys(state.upstreams)) if (!after.includes(name)) delete state.upstreams[name];
    config = c;
  };
  const ready = () => Object.values(state.upstreams).every((u) => u.succeededSinceRun);
  const count = (r: UpstreamReport) => {
    const upstream = state.upstreams[r.connector];
    if (!upstream) return; // no longer one of ours (connectors.yaml changed)
    upstream.last = r;
    if (!r.ok) return;
    upstream.succeededSinceRun = true;
    if (!ready()) return;
    for (const u of Object.values(state.upstreams)) u.succeededSinceRun = false;
    state.countSince = new Date().toISOString();
    if (state.running || triggered) {
      state.skipped += 1;
      log.info('a run is in progress: trigger skipped', {
        connector: config.connector.name,
        by: r.workflowId,
      });
    } else triggered = true;
  };
  const refuse = (r: UpstreamReport, reason: string) => {
    state.refused = (state.refused ?? 0) + 1;
    state.lastRefused = { connector: r.connector, workflowId: r.workflowId, reason };
    log.warn('an upstream report was not counted', {
      connector: config.connector.name,
      upstream: r.connector,
      workflowId: r.workflowId,
      reason,
    });
  };
  /** Count a report only as the run it names really ended (see the workflow's description). */
  const verifyAndCount = async (r: UpstreamReport) => {
    if (!state.upstreams[r.connector]) return;
    state.countSince ??= state.lastRun?.startedAt ?? workflowInfo().startTime.toISOString();
    let check: Awaited<ReturnType<typeof verifyUpstreamRun>>;
    try {
      check = await verifyUpstreamRun({
        dependent: config.connector.name,
        upstream: r.connector,
        workflowId: r.workflowId,
        ...(r.runId ? { runId: r.runId } : {}),
      });
    } catch (err) {
      return refuse(r, `it could not be checked: ${failureReason(err)}`);
    }
    if (!check.genuine) return refuse(r, check.reason);
    if (check.endedAt <= state.countSince)
      return refuse(r, `run ${r.workflowId} ended at ${check.endedAt}, before this connector's last trigger`);
    count({
      connector: r.connector,
      workflowId: r.workflowId,
      runId: check.runId,
      ok: check.ok,
      at: check.endedAt,
      ...(!check.ok && r.reason ? { reason: r.reason } : {}),
    });
  };
  // Reports are checked one after another, so they count in the order they came.
  let checked = Promise.resolve();
  const onUpstream = (r: UpstreamReport): Promise<void> => {
    // Histories from before the check counted every report as it came.
    if (!patched('connector-after-verify')) return Promise.resolve(count(r));
    checked = checked
      .then(() => verifyAndCount(r))
      .catch((err: unknown) => log.error('an upstream report failed', { error: (err as Error).message }));
    return checked;
  };

  follow(config);
  setHandler(upstreamFinishedSignal, onUpstream);
  setHandler(afterConfigSignal, follow);
  setHandler(afterStateQuery, () => ({ ...state, config }));

  for (;;) {
    await condition(() => triggered);
    triggered = false;
    const startedAt = new Date();
    const workflowId = WorkflowIds.connectorRun(config.connector.name, startedAt);
    state.running = { workflowId, startedAt: startedAt.toISOString() };
    let ok = false;
    try {
      const run = await startChild(connectorSyncWorkflow, {
        workflowId,
        args: [
          {
            connector: config.connector,
            ...(config.healthWorkflowId ? { healthWorkflowId: config.healthWorkflowId } : {}),
            ...(config.dependents.length > 0 ? { dependents: config.dependents } : {}),
          },
        ],
        // The run outlives a continue-as-new or a removal of this workflow, as a scheduled run would.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: [{ key: ConnectorKey, value: config.connector.name }],
      });
      await run.result();
      ok = true;
    } catch (err) {
      // The run reports its own failure to the health check; here it only ends the run.
      log.warn('the run failed', {
        connector: config.connector.name,
        workflowId,
        error: (err as Error).message,
      });
    }
    state.lastRun = { ...state.running, endedAt: new Date().toISOString(), ok };
    delete state.running;
    runsThisHistory += 1;

    if (workflowInfo().continueAsNewSuggested || runsThisHistory >= RUNS_PER_HISTORY) {
      await condition(allHandlersFinished);
      // A trigger that came in meanwhile is not lost: the next history starts with it.
      if (!triggered) await continueAsNew<typeof connectorAfterWorkflow>({ config, state });
    }
  }
}
