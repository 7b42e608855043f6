import { ActivityCancellationType } from '@temporalio/common';
import {
  CancellationScope,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createConnectorSyncActivities } from '../../activities/connectors/sync';
import {
  ConnectorKey,
  syncReportedSignal,
  SyncStatusKey,
  upstreamFinishedSignal,
  type ConnectorSyncInput,
  type RunConnectorResult,
  type SyncReport,
  type UpstreamReport,
} from '../../lib/contracts/connectors';
import { parseDuration } from '../../lib/duration';
import { failureReason } from '../../lib/failures';
import { NON_RETRYABLE_ERROR_TYPES, WorkflowIds } from '../../lib/names';

/** Extra time for the activity beyond the container's own timeout: an image pull and clean-up. */
const ACTIVITY_MARGIN_MS = 5 * 60_000;

/**
 * One connector sync: resolve the connector's secrets, run its container on the platform
 * network, and report the outcome to `connector-health`. A non-zero exit or a timeout is retried
 * with backoff up to the connector's limit; a bad secret reference, a missing image or bad config
 * fail at once. The connectors that run after this one are told how it ended.
 */
export async function connectorSyncWorkflow(input: ConnectorSyncInput): Promise<RunConnectorResult> {
  const { connector } = input;
  const { workflowId } = workflowInfo();
  const { runConnector } = proxyActivities<ReturnType<typeof createConnectorSyncActivities>>({
    startToCloseTimeout: parseDuration(connector.timeout) + ACTIVITY_MARGIN_MS,
    heartbeatTimeout: '30 seconds',
    // Let the activity kill and remove its container before the workflow reports the cancellation.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      maximumAttempts: connector.retry.maximumAttempts,
      initialInterval: parseDuration(connector.retry.initialInterval),
      backoffCoefficient: connector.retry.backoffCoefficient,
      maximumInterval: parseDuration(connector.retry.maximumInterval),
      nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
    },
  });

  upsertSearchAttributes([
    { key: ConnectorKey, value: connector.name },
    { key: SyncStatusKey, value: 'running' },
  ]);
  const healthWorkflowId = input.healthWorkflowId ?? WorkflowIds.connectorHealth;
  try {
    const result = await runConnector({ connector, workflowId, healthWorkflowId });
    upsertSearchAttributes([{ key: SyncStatusKey, value: 'succeeded' }]);
    // The activity tells the health check of a success itself; report here only when it could not.
    if (!result.reported) await report(healthWorkflowId, { connector: connector.name, workflowId, ok: true });
    await tellDependents(input.dependents, { connector: connector.name, workflowId, ok: true });
    return result;
  } catch (err) {
    upsertSearchAttributes([{ key: SyncStatusKey, value: 'failed' }]);
    await report(healthWorkflowId, {
      connector: connector.name,
      workflowId,
      ok: false,
      reason: failureReason(err),
    });
    await tellDependents(input.dependents, {
      connector: connector.name,
      workflowId,
      ok: false,
      reason: failureReason(err),
    });
    throw err;
  }
}

async function report(healthWorkflowId: string, syncReport: SyncReport): Promise<void> {
  try {
    // Non-cancellable: a cancelled run still tells the health check it did not succeed.
    await CancellationScope.nonCancellable(() =>
      getExternalWorkflowHandle(healthWorkflowId).signal(syncReportedSignal, syncReport),
    );
  } catch (err) {
    // The health workflow is optional for a single run (`sv0 up` starts it): a run must not fail for it.
    log.warn('connector-health did not take the sync report', {
      connector: syncReport.connector,
      error: (err as Error).message,
    });
  }
}

/**
 * Tell each dependent's `connector-after.<name>` workflow how this run ended: the last success of
 * its upstreams starts its run, a failure holds it. Runs without dependents send nothing, so
 * their histories keep their commands.
 */
async function tellDependents(
  dependents: string[] | undefined,
  outcome: Omit<UpstreamReport, 'at'>,
): Promise<void> {
  if (!dependents?.length || !patched('connector-after')) return;
  // The run id lets the dependent find this very run in Temporal before it counts the report.
  const upstreamReport: UpstreamReport = {
    ...outcome,
    runId: workflowInfo().runId,
    at: new Date().toISOString(),
  };
  for (const name of dependents) {
    try {
      await CancellationScope.nonCancellable(() =>
        getExternalWorkflowHandle(WorkflowIds.connectorAfter(name)).signal(
          upstreamFinishedSignal,
          upstreamReport,
        ),
      );
    } catch (err) {
      // Not applied yet, or removed from connectors.yaml: this run's own outcome stands.
      log.warn('a dependent connector did not take the report', {
        connector: outcome.connector,
        dependent: name,
        error: (err as Error).message,
      });
    }
  }
}
