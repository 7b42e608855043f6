/**
 * How a `sv0` command ends: the exit codes (documented in `sv0 --help` and the README), the error
 * that carries one, and the one mapping from any error (config, Temporal, connection) to a code.
 */
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { ConfigError } from '../lib/config/validate';
import { DurationError } from '../lib/duration';
import { SecretFileError } from '../lib/runtime/secret-files';

export const ExitCode = {
  /** Done. */
  Ok: 0,
  /** The operation or workflow failed. */
  Failed: 1,
  /** Bad input or usage (also `apply` without `--yes` when stdin is not a terminal). */
  BadInput: 2,
  /** A dependency (Temporal, AWS, the container engine) is unreachable. */
  Unreachable: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error that ends the command with a chosen exit code and a message for the operator. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** Whether an unreachable dependency gets the "run sv0 doctor" hint (not from doctor itself). */
    readonly doctorHint = true,
  ) {
    super(message);
  }
}

/**
 * What an operator needs from Temporal's errors: a rejected update is bad input (the workflow's
 * validator said why), a failed workflow says its cause, a missing or duplicate workflow names its
 * id. `what` names the family's workflow (`demo`, `budget guard`); `hint` says what to do about an
 * id that is taken. Other errors are returned as they are.
 */
export function temporalCliError(err: unknown, what = 'workflow', hint = ''): unknown {
  if (err instanceof WorkflowUpdateFailedError)
    return new CliError(`rejected: ${err.cause?.message ?? err.message}`, ExitCode.BadInput);
  if (err instanceof WorkflowNotFoundError)
    return new CliError(`no such ${what} (${err.workflowId ?? 'unknown id'})`, ExitCode.Failed);
  if (err instanceof WorkflowFailedError)
    return new CliError(err.cause?.message ?? err.message, ExitCode.Failed);
  if (err instanceof WorkflowExecutionAlreadyStartedError)
    return new CliError(
      `a ${what} with workflow id ${err.workflowId} already exists${hint}`,
      ExitCode.BadInput,
    );
  return err;
}

/** Map any error to the documented exit code. */
export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof ConfigError || err instanceof DurationError || err instanceof SecretFileError)
    return ExitCode.BadInput;
  const text = String((err as Error)?.message ?? err);
  if (
    /ECONNREFUSED|UNAVAILABLE|Failed to connect|connect ENOENT|getaddrinfo|ETIMEDOUT|Connection refused/i.test(
      text,
    )
  ) {
    return ExitCode.Unreachable;
  }
  return ExitCode.Failed;
}
