import { ActivityFailure, ApplicationFailure } from '@temporalio/common';

/**
 * Why something failed, in one line, for notifications, audit entries and reports. Our activities
 * build their failure messages without secrets, so these texts may go into history. Pure and free
 * of Node built-ins: workflows, activities and the CLI use the same functions.
 */

/** The failure's own cause when an activity failed (its message is generic), else the error itself. */
function rootOf(err: unknown): unknown {
  return err instanceof ActivityFailure && err.cause ? err.cause : err;
}

/** The root cause's message: an activity failure's cause, not the wrapper's "Activity task failed". */
export function rootCauseMessage(err: unknown): string {
  const cause = rootOf(err);
  return cause instanceof Error ? cause.message : String(cause);
}

/** The root cause's error type and message, e.g. `Sv0ConnectorFailed: connector x: exited with code 1`. */
export function failureReason(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return `${cause.type ?? 'Error'}: ${cause.message}`;
  return (cause as Error)?.message ?? String(cause);
}

/**
 * A failure with its causes (`Workflow execution failed: Activity task failed: <why>`), for
 * operators: the reason they can act on is usually the innermost one.
 */
export function failureChain(err: unknown): string {
  const parts: string[] = [];
  for (
    let e = err as { message?: string; cause?: unknown } | undefined;
    e && parts.length < 6;
    e = e.cause as typeof e
  ) {
    if (e.message) parts.push(e.message);
  }
  return parts.join(': ') || String(err);
}
