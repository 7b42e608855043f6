import { z } from 'zod';
import { accountIdSchema, SandboxOrgSchema } from './inputs';

/**
 * The budget activities' inputs as schemas, validated again in each activity (a guard's input or a
 * `reconfigure` signal may be forged by anyone who can reach the namespace). Which account may be
 * frozen is decided by the worker's sandbox settings against the live organization; the `org` sent
 * along is shape-checked only.
 *
 * Activities, the CLI and tests import this module; workflows never do (lint rejects it), so zod
 * stays out of the workflow bundle. The rest of the budget contract is in lib/contracts/budget.ts.
 */

const budgetNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, 'a budget name is letters, digits, dot, dash or underscore');
const accountNameSchema = z.string().min(1).max(50);

/** Input of `readBudgetSpend`. */
export const ReadBudgetSpendInputSchema = z.strictObject({ budgetName: budgetNameSchema });
/** Input of `resolveAccount`. */
export const ResolveAccountInputSchema = z.strictObject({ accountName: accountNameSchema });
/** Input of `attachFreezePolicy`: the target as `resolveAccount` found it live. */
export const AttachFreezeInputSchema = z.strictObject({
  accountId: accountIdSchema,
  accountName: accountNameSchema,
  managementAccountId: accountIdSchema,
  org: SandboxOrgSchema,
  dryRun: z.boolean().optional(),
  /** The budget whose AWS freeze action the attach reports. */
  budgetName: budgetNameSchema.optional(),
});
/** Input of `detachFreezePolicy` (the activity refuses anything but a member account's id). */
export const DetachFreezeInputSchema = z.strictObject({
  accountId: z.string().min(1).max(100),
  dryRun: z.boolean().optional(),
  /** The budget whose AWS freeze action the detach reverses. */
  budgetName: budgetNameSchema.optional(),
});
