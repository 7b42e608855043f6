/**
 * How the activities read an AWS SDK error: its name, whether it means "already gone", and which
 * failures retrying cannot fix (those become non-retryable with the fix in the message).
 */
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../lib/names';

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

/**
 * `err` as an activity failure whose type is AWS's error code (`AccessDenied`). Temporal names a
 * thrown error after its class first (`error.constructor.name`, then `error.name`), so an S3
 * refusal would otherwise be recorded as `S3ServiceException` and the code AWS gave be lost.
 * Access denied is non-retryable (the same request is denied again); the rest keeps retrying.
 */
export function keepAwsErrorName(err: unknown): unknown {
  if (err instanceof ApplicationFailure || !(err instanceof Error)) return err;
  const name = awsErrorName(err);
  if (!name || name === err.constructor.name) return err;
  return ApplicationFailure.create({
    message: err.message,
    type: name,
    nonRetryable: ACCESS_DENIED.has(name),
  });
}

/**
 * A read that a local stand-in (moto) cannot answer: {@link aws}, except that against a local
 * endpoint a failure is noted in `notes` and the read answers undefined instead of failing.
 */
export function readUnlessLocallyUnavailable(localEndpoint: () => Promise<boolean>) {
  return async <T>(what: string, call: () => Promise<T>, notes: string[]): Promise<T | undefined> => {
    try {
      return await aws(what, call);
    } catch (err) {
      if (err instanceof ApplicationFailure || !(await localEndpoint())) throw err;
      notes.push(`${what} is not available at this AWS endpoint; skipped`);
      return undefined;
    }
  };
}

/** True for errors that mean "it is already gone": deleting it again is success. */
export function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return (
    /NotFound|NoSuch|ResourceNotFound|DoesNotExist/.test(`${e.name ?? ''} ${e.Code ?? ''}`) ||
    (e.name === 'ValidationError' && /does not exist/.test(String((err as Error).message)))
  );
}
