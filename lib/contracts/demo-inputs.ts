import { z } from 'zod';
import { SecretRefSchema } from '../config/secret-refs';
import { DEMO_ID_PATTERN } from '../names';
import type { SandboxOrg } from '../sandbox';
import type { DeployAccess } from './demo';
import { accountIdSchema, SandboxOrgSchema } from './inputs';

/**
 * The demo activities' inputs as schemas, validated again in each activity (a workflow's input may
 * be forged by anyone who can start one). Sandbox decisions are the worker's: the `org` and
 * `managementAccountId` a caller sends are checked for shape only; the activities judge the target
 * by the worker's settings and the live organization.
 *
 * Activities, the CLI and tests import this module; workflows never do (lint rejects it), so zod
 * stays out of the workflow bundle. The rest of the demo contract is in lib/contracts/demo.ts.
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
