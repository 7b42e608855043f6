import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ConnectorsConfig, ConnectorSpec } from '../config/connectors';
import type { SinkConfig } from '../config/notifications';
import { SearchAttributes } from '../names';

/**
 * The contract of connector syncs and the connector health check, shared by the workflows, the
 * activities that report to the health check, the CLI and the tests: inputs, results, signals,
 * the health query and the search attribute keys the sync runs set. The workflows import it, so it
 * imports no zod and no config schema (values); the schemas of the activity inputs and the worker
 * settings' checks of a run are in lib/contracts/connectors-inputs.ts.
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
  /**
   * The connectors that run after this one: each run tells their `connector-after.<name>`
   * workflows how it ended. Absent: none.
   */
  dependents?: string[];
}

/**
 * What a sync run tells the `connector-after.<name>` workflow of each connector that waits on it.
 * Anyone who can reach the namespace can send this signal too: the workflow counts a report only
 * once the `verifyUpstreamRun` activity has found the run it names to be a real run of that
 * connector, and takes the outcome from the run itself.
 */
export interface UpstreamReport {
  connector: string;
  workflowId: string;
  /** The run's id (reports from before it was added name the workflow id only). */
  runId?: string;
  ok: boolean;
  /** When the run ended (workflow time), ISO-8601 UTC. */
  at: string;
  /** Why it failed: an error type and a message with no secret in it. */
  reason?: string;
}
export const upstreamFinishedSignal = defineSignal<[UpstreamReport]>('upstreamFinished');

/** What `connector-after.<name>` needs; `sv0 connectors apply` sends it (start, or signal when it runs). */
export interface ConnectorAfterConfig {
  /** The dependent connector with its defaults applied; `after` names its upstreams. */
  connector: ConnectorSpec;
  /** The connectors that run after this one in turn. */
  dependents: string[];
  /** @default `connector-health` */
  healthWorkflowId?: string;
}

/** What `connector-after.<name>` remembers, carried across continue-as-new. */
export interface ConnectorAfterState {
  /** Per upstream: its last run's outcome, and whether it has succeeded since the dependent's last run. */
  upstreams: Record<string, { last?: UpstreamReport; succeededSinceRun: boolean }>;
  /** The run in progress. */
  running?: { workflowId: string; startedAt: string };
  /** The last run that ended. */
  lastRun?: { workflowId: string; startedAt: string; endedAt: string; ok: boolean };
  /** Triggers dropped because a run was in progress (overlap SKIP). */
  skipped: number;
  /**
   * Upstream successes count only when their run ended after this time (ISO-8601 UTC): the start
   * of this workflow, then each trigger. A report of an older run is not counted again.
   */
  countSince?: string;
  /** Reports not counted because they named no real run of that upstream, or an old one. */
  refused?: number;
  /** The last such report and why (the names it carried, no secret). */
  lastRefused?: { connector: string; workflowId: string; reason: string };
}

/** Input of `connectorAfterWorkflow`. */
export interface ConnectorAfterInput {
  config: ConnectorAfterConfig;
  state?: ConnectorAfterState;
}

/**
 * Why a connector that runs after others is not running, as `sv0 connectors status` says it:
 * `held: a failed` when an upstream's last run failed (it waits for that upstream to succeed
 * again), else `waiting on a, b` for the upstreams that have not succeeded since its last run;
 * `running` while its run is in progress.
 */
export function afterWaitReason(state: ConnectorAfterState, after: readonly string[]): string {
  if (state.running) return 'running';
  const failed = after.filter((name) => state.upstreams[name]?.last?.ok === false);
  if (failed.length > 0) return `held: ${failed.join(', ')} failed`;
  const waiting = after.filter((name) => !state.upstreams[name]?.succeededSinceRun);
  return `waiting on ${waiting.join(', ')}`;
}

export const afterConfigSignal = defineSignal<[ConnectorAfterConfig]>('afterConfig');
export const afterStateQuery = defineQuery<ConnectorAfterState & { config: ConnectorAfterConfig }>(
  'afterState',
);

/** What `verifyUpstreamRun` found about the run a report names. */
export type UpstreamRunCheck =
  /** A run of that upstream, started by its schedule or its `connector-after.` workflow, now closed. */
  | { genuine: true; ok: boolean; runId: string; endedAt: string }
  /** Not such a run: why, naming only ids and types. */
  | { genuine: false; reason: string };

/** How one container run ended. */
export interface ContainerRunResult {
  exitCode: number;
  durationMs: number;
  timedOut: boolean;
  /** The last lines of output, secrets redacted. */
  logTail: string[];
  /**
   * Set when the `always` pull policy could not pull the image and the run used the engine's
   * cached copy: why the pull failed (no secret in it).
   */
  pullFailed?: string;
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
  /**
   * The connectors that run after it, directly or through others: its alerts name them, as they
   * are held back by it and raise no alert of their own.
   */
  holdsBack?: string[];
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
