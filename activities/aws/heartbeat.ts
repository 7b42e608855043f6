/**
 * Heartbeats for long AWS work (asynchronous requests, stack waits), usable outside an activity
 * too (unit tests), where they do nothing.
 */
import { Context } from '@temporalio/activity';

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

/** Run `fn` while heartbeating every 5 s, so a long wait is not mistaken for a dead worker. */
export async function withHeartbeat<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctx = context();
  const timer = setInterval(() => ctx?.heartbeat(), 5000);
  try {
    return await fn(ctx?.cancellationSignal ?? new AbortController().signal);
  } finally {
    clearInterval(timer);
  }
}
