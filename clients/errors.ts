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
    return new CliError(`rejected: ${errorMessage(err.cause ?? err)}`, ExitCode.BadInput);
  if (err instanceof WorkflowNotFoundError)
    return new CliError(`no such ${what} (${err.workflowId ?? 'unknown id'})`, ExitCode.Failed);
  if (err instanceof WorkflowFailedError)
    return new CliError(errorMessage(err.cause ?? err), ExitCode.Failed);
  if (err instanceof WorkflowExecutionAlreadyStartedError)
    return new CliError(
      `a ${what} with workflow id ${err.workflowId} already exists${hint}`,
      ExitCode.BadInput,
    );
  return err;
}

/**
 * An error's message followed by its causes, `: `-separated, as far down as they go. Temporal's
 * SDK says what failed ("Failed to create schedule", "Workflow execution failed"); the cause says
 * why: the server's gRPC status ("INVALID_ARGUMENT: Namespace default has no mapping defined for
 * search attribute Sv0Budget"), or a failed activity's own error. A part the text already holds
 * is left out.
 */
export function errorMessage(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    // A gRPC status reads "3 INVALID_ARGUMENT: ..."; the number says nothing the name does not.
    const text = (typeof e === 'object' ? ((e as Error).message ?? '') : String(e))
      .trim()
      .replace(/^\d+ (?=[A-Z_]+:)/, '');
    if (text && !parts.some((p) => p.includes(text))) parts.push(text);
    e = (e as { cause?: unknown }).cause;
  }
  return parts.join(': ') || String(err);
}

/** The gRPC status code of an error or of one of its causes (3 INVALID_ARGUMENT, 14 UNAVAILABLE...). */
export function grpcCode(err: unknown): number | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, details } = e as { code?: unknown; details?: unknown };
    if (typeof code === 'number' && typeof details === 'string') return code;
  }
  return undefined;
}

/** Map any error to the documented exit code. */
export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof ConfigError || err instanceof DurationError || err instanceof SecretFileError)
    return ExitCode.BadInput;
  // 14 UNAVAILABLE: the server (or its proxy) is not there.
  if (grpcCode(err) === 14) return ExitCode.Unreachable;
  const text = errorMessage(err);
  if (
    /ECONNREFUSED|UNAVAILABLE|Failed to connect|connect ENOENT|getaddrinfo|ETIMEDOUT|Connection refused/i.test(
      text,
    )
  ) {
    return ExitCode.Unreachable;
  }
  return ExitCode.Failed;
}
