import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { NotificationsConfig } from '../config/notifications';
import type { SandboxOrg } from '../sandbox';
import { SearchAttributes, WorkflowTypes } from '../names';

/**
 * The contract of demo lifecycles and the nightly sweep, shared by the workflows, the activities
 * that control demos from outside, the CLI and the tests: inputs, status and results, update and
 * query definitions, search attribute keys and the memo that names the demo's account. The
 * workflows import it, so it imports no zod and no config schema (values); the schemas of the
 * activity inputs are in lib/contracts/demo-inputs.ts.
 */

/** Lifecycle phases, in order; `failed` ends a demo whose deploy or teardown did not finish clean. */
export type DemoPhase = 'deploying' | 'running' | 'destroying' | 'destroyed' | 'failed';

/** How the orchestrator reaches the sandbox account: its deploy role and the external id. */
export interface DeployAccess {
  accountId: string;
  /** The account's name in the live organization (the sandbox check reads it). */
  accountName: string;
  /** @default `sv0-orchestrator-deploy` */
  roleName: string;
  /**
   * The external id the deploy role's trust policy demands. Not a secret, but kept out of logs:
   * give a reference (`env:NAME`, `file:/path`, `op://...`) that the activity resolves, or the value.
   */
  externalIdRef?: string;
  externalId?: string;
}

/**
 * A scenario as the workflow receives it: its name only. The worker reads the scenario (template
 * or CDK app, and its parameters) from its own config folder and refuses one it does not have.
 */
export interface DemoScenarioInput {
  name: string;
  /** Only in demos started before the worker resolved scenarios itself; never sent now. */
  templateBody?: string;
  /** Only in demos started before the worker resolved scenarios itself; never sent now. */
  parameters?: Record<string, string>;
  /** Maximum lifetime from the demo's start, milliseconds. */
  maxTtlMs: number;
}

/** Input of `demoLifecycleWorkflow`. */
export interface DemoInput {
  /** Demo id (`[a-z0-9-]{1,40}`); the workflow id is `demo-<id>`. */
  id: string;
  scenario: DemoScenarioInput;
  owner: string;
  /** Time to live from the start, milliseconds. */
  ttlMs: number;
  target: DeployAccess;
  /** The organization's management account (the sandbox check refuses it). */
  managementAccountId: string;
  /** Accounts of config/org.yaml (name + sandbox), for the guard. */
  org: { accounts: { name: string; sandbox: boolean }[] };
  notifications: NotificationsConfig['sinks'];
  /** How long before expiry the warning goes out. @default 15 minutes, at most half the TTL */
  warnBeforeMs?: number;
}

/** A resource found in the sandbox account, with what the teardown did to it. */
export interface DemoResource {
  arn: string;
  type: string;
}

/**
 * A demo's cost so far from Cost Explorer: what carries its `sv0:demo` tag in its account, from its
 * start. Billing data lags about a day (and a tag counts only once it is an active cost allocation
 * tag), so the figure is always `delayed`: a lower bound read at teardown.
 */
export type DemoCost =
  { amount: number; currency: 'USD'; from: string; through: string; delayed: true } | { unavailable: string };

/** What `status` answers. Times are ISO-8601 UTC. */
export interface DemoStatus {
  id: string;
  scenario: string;
  owner: string;
  accountId: string;
  phase: DemoPhase;
  startedAt: string;
  expiresAt: string;
  /** The latest expiry `extend` may reach: start + the scenario's maximum TTL. */
  maxExpiresAt: string;
  stackName: string;
  outputs: Record<string, string>;
  resources: { logicalId: string; type: string; physicalId: string }[];
  destroyReason?: string;
  deleted: DemoResource[];
  leftovers: DemoResource[];
  error?: string;
  /** Read when the demo ends (absent in demos that ended before it was read). */
  cost?: DemoCost;
}

/** The workflow's result: the summary that also goes out as a notification. */
export type DemoSummary = DemoStatus & { livedMs: number };

/** Move the expiry later by a duration (`30m`, `2h`); rejected beyond the scenario's maximum. Returns the new expiry. */
export const extendUpdate = defineUpdate<string, [duration: string]>('extend');
/** Move the expiry earlier by a duration; rejected if it would fall in the past. Returns the new expiry. */
export const shortenUpdate = defineUpdate<string, [duration: string]>('shorten');
/** Tear the demo down now. Accepted in any phase; returns the phase at acceptance. */
export const destroyNowUpdate = defineUpdate<DemoPhase, [reason: string]>('destroyNow');
/** Phase, owner, expiry, outputs and resources. */
export const statusQuery = defineQuery<DemoStatus>('status');

/** Visibility query for the demos that are still running. */
export const RUNNING_DEMOS_QUERY = `WorkflowType = '${WorkflowTypes.demoLifecycle}' AND ExecutionStatus = 'Running'`;

/** Memo key holding the demo's account id, so controllers can find a demo's account without a query. */
export const DEMO_ACCOUNT_MEMO = 'sv0AccountId';

/** Typed search attribute keys of a demo. */
export const DemoSearchAttributes = {
  scenario: defineSearchAttributeKey(SearchAttributes.demoScenario, SearchAttributeType.KEYWORD),
  owner: defineSearchAttributeKey(SearchAttributes.owner, SearchAttributeType.KEYWORD),
  phase: defineSearchAttributeKey(SearchAttributes.phase, SearchAttributeType.KEYWORD),
  expiresAt: defineSearchAttributeKey(SearchAttributes.expiresAt, SearchAttributeType.DATETIME),
} as const;

/** Stack name of a demo in its sandbox account. */
export function demoStackName(id: string): string {
  return `sv0-demo-${id}`;
}

/** Demo id from a workflow id `demo-<id>`, or undefined for other workflows. */
export function demoIdFromWorkflowId(workflowId: string): string | undefined {
  return workflowId.startsWith('demo-') ? workflowId.slice('demo-'.length) : undefined;
}

/** When the warning goes out before expiry: 15 minutes by default, at most half the TTL. */
export function warningLeadMs(ttlMs: number, requested?: number): number {
  return Math.min(requested ?? 15 * 60_000, Math.floor(ttlMs / 2));
}

/** A resource the teardown or the sweep could not delete, with the reason. */
export interface FailedDeletion {
  arn: string;
  type: string;
  error: string;
}

/** A sweep decision for one resource. */
export interface SweepItem {
  arn: string;
  type: string;
  reason: string;
}

/** The sweep's plan for one account. */
export interface SweepPlan {
  accountId: string;
  /** What the sweep deletes: stacks first, then the rest. */
  stacks: SweepItem[];
  resources: SweepItem[];
  /** Ephemeral resources kept, with why (owned by a running demo, young, permanent, age unknown). */
  kept: SweepItem[];
  /**
   * Resources without sv0:ephemeral, 12 h or older (or of unknown age), that the sweep reports and
   * leaves: where org.yaml sets `sweepUntagged: true` the old ones are in `stacks`/`resources`
   * instead. Never the orchestrator's own resources (`sv0-` names, the roles org.yaml declares in the
   * account). Absent in plans made before it was read.
   */
  untagged?: SweepItem[];
  /**
   * What could not be read (a resource's tags, or a whole service's listing), with AWS's reason:
   * reported, never fatal. Absent in plans made before it was reported.
   */
  unreadable?: FailedDeletion[];
}

/** Input of `demoSweepWorkflow`: the CLI (or `sv0 up` for the schedule) resolves accounts from config and the live org. */
export interface DemoSweepInput {
  /** The sandbox accounts to sweep, each with how to reach it. */
  accounts: DeployAccess[];
  org: SandboxOrg;
  managementAccountId: string;
  /** Delete for real; otherwise only report the plan. The CLI defaults to a dry run, the schedule applies. */
  apply: boolean;
  /** @default 12 hours */
  maxAgeMs?: number;
  /** Demo ids that count as running; listed from visibility when omitted. */
  runningDemoIds?: string[];
  notifications: NotificationsConfig['sinks'];
  /**
   * The regions the client's org.yaml's RegionLock allows. The worker sweeps those its own
   * org.yaml allows (without a RegionLock, its own region) and refuses a sweep whose regions are
   * not among them.
   */
  regions?: string[];
}

/** What the sweep did in one account. */
export interface AccountSweepResult {
  accountId: string;
  accountName: string;
  refused?: string;
  /** The account could not be swept (unreachable, access denied). */
  error?: string;
  plan?: SweepPlan;
  deleted: DemoResource[];
  failed: FailedDeletion[];
}

/** Result of `demoSweepWorkflow`. */
export interface DemoSweepResult {
  apply: boolean;
  accounts: AccountSweepResult[];
}
