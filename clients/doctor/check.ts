/**
 * What every `sv0 doctor` check returns, and the helpers they share: a time limit per call and the
 * first line of an error's message.
 */
import { errorMessage } from '../errors';

/** `ok`; `warn` (works, but something is off); `fail` (broken: the exit code says how). */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skipped';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  /** What was found (never a secret). */
  detail: string;
  /** What to do about a warning or failure. */
  fix?: string;
  /** A failed check whose dependency could not be reached: the command exits 3. */
  unreachable?: boolean;
}

/** `promise`, or an error saying that `what` did not answer within `ms`. */
export function timeout<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000}s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The first line of an error's message and causes: enough for one line of the report. */
export const message = (err: unknown) => errorMessage(err).split('\n')[0]!;
