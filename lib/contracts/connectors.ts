import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ConnectorsConfig, ConnectorSpec } from '../config/connectors';
import type { SinkConfig } from '../config/notifications';
import { SearchAttributes } from '../names';

/**
 * The contract of connector syncs and the connector health check, shared by the workflows, the
 * activities that report to the health check, the CLI and the tests: inputs, results, signals,
 * the health query and the search attribute keys the sync runs set.
 */

/** Search attribute keys the sync runs set, so the Web UI can filter by connector and outcome. */
export const ConnectorKey = defineSearchAttributeKey(SearchAttributes.connector, SearchAttributeType.KEYWORD);
export const SyncStatusKey = defineSearchAttributeKey(
  SearchAttributes.syncStatus,
  SearchAttributeType.KEYWORD,
);

/** Input of `connectorSyncWorkflow`. */
export interface ConnectorSyncInput {
  /** The connector with its defaults applied: image, args, limits, secret references. */
  connector: ConnectorSpec;
  /** @default `connector-health` */
  healthWorkflowId?: string;
}

/** How one container run ended. */
export interface ContainerRunResult {
  exitCode: number;
  durationMs: number;
  timedOut: boolean;
  /** The last lines of output, secrets redacted. */
  logTail: string[];
}

/** What a sync returns and what a failure carries in its details: no secret, log tail redacted. */
export type RunConnectorResult = ContainerRunResult & {
  connector: string;
  attempt: number;
  /** Whether the activity told the health check of the success (else the workflow does). */
  reported?: boolean;
};

/** What each sync run tells `connector-health`, so it can count failed runs in a row. */
export interface SyncReport {
  connector: string;
  workflowId: string;
  ok: boolean;
  /** Why it failed: an error type and a message with no secret in it. */
  reason?: string;
}
export const syncReportedSignal = defineSignal<[SyncReport]>('syncReported');

/** A connector as the health check watches it. */
export interface HealthConnector {
  name: string;
  interval: string;
  pauseAfterFailedRuns: number;
}

/** What the health check needs; `sv0 up` and `sv0 connectors apply` send it (start or signal). */
export interface ConnectorHealthConfig {
  connectors: HealthConnector[];
  platform: ConnectorsConfig['platform'];
  /** @default '5m' */
  checkEvery: string;
  sinks: SinkConfig[];
  /** Continue-as-new after this many checks, whatever the history size. @default 100 */
  checksPerRun?: number;
}

/** What the health check remembers, carried across continue-as-new. */
export interface HealthState {
  /** Open staleness incidents: connector -> when it was found stale. */
  incidents: Record<string, { since: string; lastSyncAt?: string }>;
  /** Failed runs in a row per connector, as the sync runs report them. */
  failedInARow: Record<string, number>;
  /** Connectors this workflow paused, and why. */
  pausedForFailures: Record<string, string>;
  lastCheckAt?: string;
  /** Checks done since the workflow was first started (kept across continue-as-new). */
  checks: number;
  /**
   * Connectors whose platform check fails: since when, the last reason (our own messages, no
   * secret), and whether the alert went out (once, when it has failed for twice the interval).
   */
  checkErrors: Record<string, { since: string; message: string; alerted: boolean }>;
}

/** Input of `connectorHealthWorkflow`. */
export interface ConnectorHealthInput {
  config: ConnectorHealthConfig;
  state?: HealthState;
}

export const healthConfigSignal = defineSignal<[ConnectorHealthConfig]>('healthConfig');
/** `sv0 connectors resume` clears the failure count, so the next failure does not pause at once. */
export const resetFailuresSignal = defineSignal<[{ connector: string }]>('resetFailures');
export const healthStateQuery = defineQuery<HealthState & { connectors: string[] }>('healthState');
