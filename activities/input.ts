/**
 * How every activity treats its input: as untrusted. Whoever can start a workflow or send it a
 * signal chooses what reaches an activity, so each one validates its input with the schema of its
 * family's contract and checks it against the worker's settings, before it resolves a secret,
 * starts a container or sends a request. A refusal is non-retryable: the same input is refused
 * again.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';
import { formatFieldPath } from '../lib/config/validate';
import { ErrorType } from '../lib/names';

/** Refuse for good, with every reason (each names the setting or field; never a secret value). */
export function refuseInput(reasons: readonly string[]): never {
  throw ApplicationFailure.nonRetryable(
    `refused by the worker: ${reasons.join('; ')}`,
    ErrorType.InputRefused,
  );
}

/**
 * The input parsed by `schema`, or a non-retryable refusal that lists each field and reason. The
 * messages are the schema's own, which never repeat the value they reject.
 */
export function validInput<S extends z.ZodType>(schema: S, input: unknown, activity: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  refuseInput(
    parsed.error.issues
      .slice(0, 10)
      .map((issue) => `${activity} input ${formatFieldPath(issue.path) || '(whole)'}: ${issue.message}`),
  );
}
