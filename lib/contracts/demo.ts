import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import { SecretRefSchema, type NotificationsConfig } from '../config/notifications';
import { accountIdSchema, SandboxOrgSchema, type SandboxOrg } from '../sandbox';
import { DEMO_ID_PATTERN, SearchAttributes, WorkflowTypes } from '../names';

/**
 * The contract of demo lifecycles and the nightly sweep, shared by the workflows, the activities
 * that control demos from outside, the CLI and the tests: inputs, status and results, update and
 * query definitions, search attribute keys and the memo that names the demo's account.
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
   * instead. Never the orchestrator's own roles and stacks. Absent in plans made before it was read.
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

/*
 * Activity inputs, validated again in each activity (a workflow's input may be forged by anyone who
 * can start one). Sandbox decisions are the worker's: the `org` and `managementAccountId` a caller
 * sends are checked for shape only; the activities judge the target by the worker's settings and
 * the live organization.
 */

export const demoIdSchema = z
  .string()
  .regex(DEMO_ID_PATTERN, 'a demo id is 1-40 lower case letters, digits and dashes');

/** How to reach a sandbox account (see {@link DeployAccess}). */
export const DeployAccessSchema = z.strictObject({
  accountId: accountIdSchema,
  accountName: z.string().min(1).max(50),
  roleName: z.string().regex(/^[A-Za-z0-9+=,.@_-]{1,64}$/, 'an IAM role name'),
  externalIdRef: SecretRefSchema.optional(),
  externalId: z
    .string()
    .regex(/^[A-Za-z0-9+=,.@:/-]{2,1224}$/, 'an external id as STS accepts it')
    .optional(),
});

/** A demo's stack name: `sv0-demo-<id>`, the only stacks demo activities create or delete. */
export const demoStackNameSchema = z
  .string()
  .regex(/^sv0-demo-[a-z0-9-]{1,40}$/, 'a demo stack is named sv0-demo-<demo id>');

/** Input of `checkDemoTarget` (and the base of the sweep's inputs). */
export const SandboxCheckInputSchema = z.strictObject({
  target: DeployAccessSchema,
  org: SandboxOrgSchema,
  managementAccountId: accountIdSchema,
});
export interface SandboxCheckInput {
  target: DeployAccess;
  org: SandboxOrg;
  managementAccountId: string;
}

/** Input of `createDemoStack`. */
export const CreateDemoStackInputSchema = z.strictObject({
  target: DeployAccessSchema,
  stackName: demoStackNameSchema,
  templateBody: z.string().min(1).max(1_000_000),
  parameters: z.record(z.string().min(1).max(255), z.string().max(4096)),
  tags: z.record(z.string().min(1).max(128), z.string().max(256)),
});

/** Input of `deployDemoScenario`: the scenario by name; the worker reads it from its own config. */
export const DeployDemoScenarioInputSchema = z.strictObject({
  target: DeployAccessSchema,
  stackName: demoStackNameSchema,
  demoId: demoIdSchema,
  scenario: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'a scenario name'),
  tags: z.record(z.string().min(1).max(128), z.string().max(256)),
});

/** Input of the activities that wait for, describe or delete a demo's stack. */
export const DemoStackInputSchema = z.strictObject({
  target: DeployAccessSchema,
  stackName: demoStackNameSchema,
});

/** Input of the activities that list or delete what carries a demo's tag. */
export const DemoResourcesInputSchema = z.strictObject({ target: DeployAccessSchema, demoId: demoIdSchema });

/** Input of `planAccountSweep`. */
export const SweepTargetInputSchema = SandboxCheckInputSchema.extend({
  runningDemoIds: z.array(demoIdSchema).max(10_000),
  maxAgeMs: z.number().int().min(3_600_000, 'the sweep never takes resources younger than an hour'),
  /** Ignored: the worker ages by its own clock. Sent by sweeps started before it did. */
  now: z.number().int().positive().optional(),
  markFirstSeen: z.boolean().optional(),
  regions: z
    .array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-[0-9]$/, 'an AWS region such as us-east-1'))
    .max(40)
    .optional(),
});
export interface SweepTargetInput extends SandboxCheckInput {
  runningDemoIds: string[];
  maxAgeMs: number;
  /**
   * Ignored: the worker ages every resource by its own clock, so a forged time ages nothing. Sent
   * by sweeps started before it did.
   * @deprecated
   */
  now?: number;
  /**
   * Tag `sv0:first-seen` on resources AWS gives no creation time (an applying sweep's plan; a dry
   * run changes nothing and reports them as age unknown).
   */
  markFirstSeen?: boolean;
  /**
   * The regions the client found in its org.yaml ({@link DemoSweepInput.regions}): checked, not
   * obeyed. The worker reads every region its own org.yaml's RegionLock allows and refuses a sweep
   * that names another.
   */
  regions?: string[];
}

/** Input of `applyAccountSweep`: the approved ARNs of one step. */
export const ApplySweepInputSchema = SweepTargetInputSchema.extend({
  step: z.enum(['stacks', 'resources']),
  approved: z
    .array(
      z
        .string()
        .regex(/^arn:aws[a-z-]*:/, 'an ARN')
        .max(2048),
    )
    .max(10_000),
});

/** Input of `readDemoCost`: the demo, its account and when it started (ISO-8601). */
export const ReadDemoCostInputSchema = z.strictObject({
  demoId: demoIdSchema,
  accountId: accountIdSchema,
  startedAt: z.iso.datetime({ message: 'an ISO-8601 UTC time' }),
});

/** Input of `listRunningDemos`. */
export const ListRunningDemosInputSchema = z.strictObject({ accountId: accountIdSchema.optional() });
/** Input of `destroyDemosInAccount`. */
export const DestroyDemosInputSchema = z.strictObject({
  accountId: accountIdSchema,
  reason: z.string().min(1).max(2000),
});
/** Input of `waitForDemosClosed`. */
export const WaitForDemosInputSchema = z.strictObject({
  workflowIds: z.array(z.string().regex(/^demo-[a-z0-9-]{1,40}$/, 'a demo workflow id')).max(1000),
  pollMs: z.number().int().min(100).max(600_000).optional(),
});
