/**
 * HTTP calls that carry a secret (a bearer token, a webhook URL that is itself a credential).
 * Node's fetch copies the URL into `Failed to parse URL from <value>` and a bad header value into
 * `Headers.append: "<value>" is an invalid header value`, and those messages would reach workflow
 * history, logs and notifications. So the values are checked here first, and a low-level message
 * is never passed on: failures say what was being done and the error's code.
 */
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../lib/names';

/** `Bearer <token>`, or a non-retryable failure when the token cannot travel in a header. */
export function bearerAuthorization(token: string, what: string): string {
  // Visible ASCII only: what fetch accepts in a header value, minus inner spaces, which no token has.
  if (!/^[\x21-\x7e]+$/.test(token))
    throw ApplicationFailure.nonRetryable(
      `${what}: the token is not usable in an HTTP header (empty, spaces, line breaks or non-ASCII characters); check the secret's value`,
      ErrorType.SecretUnavailable,
    );
  return `Bearer ${token}`;
}

/** A URL held in a secret (a webhook's), or a non-retryable failure that does not repeat it. */
export function secretUrl(value: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw ApplicationFailure.nonRetryable(`${what}: the secret is not a URL`, ErrorType.SecretUnavailable);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw ApplicationFailure.nonRetryable(
      `${what}: the secret is not an http(s) URL`,
      ErrorType.SecretUnavailable,
    );
  // fetch refuses such a URL with a message that repeats it, password included.
  if (url.username || url.password)
    throw ApplicationFailure.nonRetryable(
      `${what}: the secret is a URL with a user name or password, which fetch does not send; use a URL without them`,
      ErrorType.SecretUnavailable,
    );
  return url;
}

/** The code of a network error (`ECONNREFUSED`, `UND_ERR_CONNECT_TIMEOUT`), never its message. */
function errorCode(err: unknown): string {
  const e = err as { code?: unknown; cause?: { code?: unknown; name?: unknown }; name?: unknown };
  const code = e.cause?.code ?? e.code ?? e.cause?.name ?? e.name;
  return typeof code === 'string' && /^[A-Za-z0-9_]{1,60}$/.test(code) ? code : 'error';
}

/** What the usual network error codes mean, for people who read the failure. */
const CODE_MEANINGS: Record<string, string> = {
  ENOTFOUND: 'the host name does not resolve here',
  EAI_AGAIN: 'the host name could not be resolved (DNS did not answer)',
  ECONNREFUSED: 'nothing listens on that port',
  ECONNRESET: 'the connection was reset',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  ETIMEDOUT: 'the connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  UND_ERR_SOCKET: 'the connection broke',
};

/** An error's code with its meaning, e.g. `ECONNREFUSED: nothing listens on that port`. */
export function networkCause(err: unknown): string {
  const code = errorCode(err);
  const meaning = CODE_MEANINGS[code];
  return meaning ? `${code}: ${meaning}` : code;
}

/** `fetch`, with a failure that names `what` and the error code only (retryable: the network may recover). */
export async function fetchQuietly(
  doFetch: typeof fetch,
  url: URL,
  init: RequestInit,
  what: string,
): Promise<Response> {
  try {
    return await doFetch(url, init);
  } catch (err) {
    throw new Error(`${what}: the request failed (${networkCause(err)})`);
  }
}

/** The response body as JSON, or a failure that does not quote the body. */
export async function jsonBody<T>(res: Response, what: string): Promise<T> {
  try {
    return (await res.json()) as T;
  } catch {
    throw new Error(`${what}: the answer is not JSON`);
  }
}
