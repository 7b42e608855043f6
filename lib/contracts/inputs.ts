import { z } from 'zod';

/**
 * What the activity input schemas of every family share. Activities validate their input again
 * (a workflow's input may be forged by anyone who can start one); the schemas live in
 * `lib/contracts/<family>-inputs.ts` and here, apart from the contracts the workflows import, so
 * that zod stays out of the workflow bundle (every cached workflow evaluates its own copy of each
 * module the workflows import).
 */

/** A 12-digit AWS account id, as activity inputs must give it. */
export const accountIdSchema = z.string().regex(/^[0-9]{12}$/, 'a 12-digit AWS account id');

/**
 * A caller's view of org.yaml in an activity input (see `SandboxOrg` in lib/sandbox.ts): checked
 * for shape only. Activities decide what is a sandbox by the worker's own settings
 * (`WorkerSandbox`), never by this.
 */
export const SandboxOrgSchema = z.strictObject({
  accounts: z
    .array(z.strictObject({ name: z.string().min(1).max(50), sandbox: z.boolean().optional() }))
    .max(1000),
});
