import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../lib/names';

/** AWS error names that retrying cannot fix: the caller lacks a permission. */
const ACCESS_DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'AccessDeniedForDependencyException',
  'UnauthorizedOperation',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
]);

/** AWS error names that say the request itself is wrong: retrying sends the same wrong request. */
const BAD_REQUEST = new Set([
  'InvalidInputException',
  'MalformedPolicyDocumentException',
  'ValidationException',
  'PolicyTypeNotAvailableForOrganizationException',
  'TargetNotFoundException',
]);

/** The AWS error name of `err`, if it is one. */
export function awsErrorName(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'name' in err
    ? String((err as { name: unknown }).name)
    : undefined;
}

/**
 * Run one AWS call for `what` and classify its failure: access denied and invalid requests are
 * non-retryable (with the fix), everything else (throttling, 5xx, timeouts) is rethrown so the
 * SDK's retry and then the activity's retry policy handle it with backoff.
 */
export async function aws<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw classifyAwsError(what, err);
  }
}

/** See {@link aws}. */
export function classifyAwsError(what: string, err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  const name = awsErrorName(err);
  const message = (err as Error)?.message ?? String(err);
  if (name && ACCESS_DENIED.has(name)) {
    return ApplicationFailure.nonRetryable(
      `${what}: AWS denied access (${name}: ${message}); give the caller's role this permission, or run with management account credentials`,
      ErrorType.AccessDenied,
    );
  }
  if (name && BAD_REQUEST.has(name)) {
    return ApplicationFailure.nonRetryable(
      `${what}: AWS rejected the request (${name}: ${message}); fix config/org.yaml`,
      ErrorType.BadConfig,
    );
  }
  return err;
}

/** The activity context, or undefined when the function is called outside an activity (unit tests). */
function context(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** Heartbeat with `details` (kept for the next attempt) when running as an activity. */
export function heartbeat(details?: unknown): void {
  context()?.heartbeat(details);
}

/** Details of the last heartbeat of an earlier attempt of this activity. */
export function lastHeartbeat<T>(): T | undefined {
  return context()?.info.heartbeatDetails as T | undefined;
}

/** Sleep that ends early (throwing) when the activity is cancelled. */
export function sleep(ms: number): Promise<void> {
  const ctx = context();
  return ctx ? ctx.sleep(ms) : new Promise((resolve) => setTimeout(resolve, ms));
}
