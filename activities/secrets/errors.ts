import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../lib/names';
import { refuseInput } from '../input';

/**
 * A secret could not be resolved or a secret file was refused. The message names the connector (when
 * there is one), the reference or file, and the reason; it never contains a secret value, because it
 * ends up in workflow history and logs.
 */
export class SecretError extends Error {
  override name = 'SecretError';
}

/** Prefix a message with the connector it concerns. */
export function forConnector(connector: string | undefined, message: string): string {
  return connector ? `connector ${connector}: ${message}` : message;
}

/**
 * A reference, path or key the worker's settings refuse (config/worker.yaml): found before the
 * secret is read, so nothing was resolved. The message names the setting to change.
 */
export class SecretRefusedError extends SecretError {
  override name = 'SecretRefusedError';
}

/**
 * An activity's failure for a secret error: a refused reference is refused input (non-retryable
 * Sv0InputRefused), a secret that cannot be resolved is non-retryable Sv0SecretUnavailable; any
 * other error is rethrown (the network may recover). For `.catch()` after a resolve.
 */
export function secretFailure(err: unknown): never {
  if (err instanceof SecretRefusedError) refuseInput([err.message]);
  if (err instanceof SecretError)
    throw ApplicationFailure.nonRetryable(err.message, ErrorType.SecretUnavailable);
  throw err;
}
