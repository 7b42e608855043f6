/**
 * A progress display for commands that wait on a workflow: a spinner with the workflow's own account
 * of where it is (its progress query, when it has one) on a terminal, one line per change
 * otherwise. Everything goes to stderr, so `--json` output on stdout stays one document.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { QueryDefinition } from '@temporalio/common';
import { errorMessage } from './errors';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface ProgressOptions<Q> {
  /** What the command waits for, e.g. `org bootstrap`. */
  label: string;
  /** The workflow's progress query; without one, the display shows the execution status. */
  query?: QueryDefinition<Q, []> | string;
  /** Turn the query's answer into one short line. @default JSON of the answer */
  render?: (state: Q) => string;
  /** How often to ask. @default 1000 ms */
  intervalMs?: number;
  /** Where to draw. @default process.stderr */
  stream?: NodeJS.WriteStream;
  /** Draw nothing (e.g. `--quiet`). */
  silent?: boolean;
  /** Stop waiting after this long (the workflow keeps running) and throw {@link WaitTimeoutError}. */
  timeoutMs?: number;
}

/** The wait ended before the workflow did; the workflow is still running. */
export class WaitTimeoutError extends Error {
  override name = 'WaitTimeoutError';
  constructor(
    readonly workflowId: string,
    /** The last progress line shown. */
    readonly lastState: string,
  ) {
    super(`${workflowId} is still running (${lastState || 'no progress reported'})`);
  }
}

/** A line the display keeps up to date; `stop` clears the spinner and prints a last line. */
export interface ProgressLine {
  update(text: string): void;
  stop(final?: string): void;
}

/** A spinner on a terminal; on a pipe or file, each distinct text printed once. */
function progressLine(
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
  silent = false,
): ProgressLine {
  let text = '';
  let printed = '';
  let frame = 0;
  const tty = Boolean(stream.isTTY) && !silent;
  const draw = () => {
    if (!tty) return;
    const line = `${FRAMES[frame++ % FRAMES.length]} ${label}${text ? `: ${text}` : ''}`;
    stream.write(`\r\x1b[2K${line.slice(0, (stream.columns ?? 100) - 1)}`);
  };
  const timer = tty ? setInterval(draw, 100) : undefined;
  timer?.unref();
  return {
    update(next: string) {
      text = next;
      if (silent) return;
      if (tty) draw();
      else if (next !== printed) {
        printed = next;
        stream.write(`${label}: ${next}\n`);
      }
    },
    stop(final?: string) {
      if (timer) clearInterval(timer);
      if (tty) stream.write('\r\x1b[2K');
      if (final && !silent) stream.write(`${label}: ${final}\n`);
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * What the workflow is doing now: its progress query when it answers within the interval (a query
 * waits for a worker, so a missing worker shows as such rather than freezing the display), else
 * the execution status from DescribeWorkflowExecution.
 */
async function currentState<Q>(
  handle: WorkflowHandle,
  opts: ProgressOptions<Q>,
  waitMs: number,
): Promise<string> {
  if (opts.query) {
    const answer = await withTimeout(
      handle.query<Q>(opts.query as QueryDefinition<Q, []>).catch(() => undefined),
      waitMs,
    );
    if (answer !== undefined) return opts.render ? opts.render(answer) : JSON.stringify(answer);
  }
  const description = await withTimeout(handle.describe(), waitMs).catch(() => undefined);
  if (!description) return 'waiting for the server';
  const pending = description.raw.pendingWorkflowTask;
  if (description.status.name === 'RUNNING' && pending && !pending.startedTime) {
    return `waiting for a worker on task queue ${description.taskQueue}`;
  }
  return description.status.name.toLowerCase();
}

/**
 * Wait for the workflow's result while showing its progress. Resolves with the result; rethrows
 * the workflow's failure after printing where it ended.
 */
export async function waitWithProgress<R, Q = unknown>(
  handle: WorkflowHandle,
  opts: ProgressOptions<Q>,
): Promise<R> {
  const interval = opts.intervalMs ?? 1000;
  const line = progressLine(opts.label, opts.stream, opts.silent);
  let settled = false;
  let lastState = '';
  let timer: NodeJS.Timeout | undefined;
  const result = (handle.result() as Promise<R>).finally(() => {
    settled = true;
  });
  const timedOut =
    opts.timeoutMs === undefined
      ? undefined
      : new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            settled = true;
            reject(new WaitTimeoutError(handle.workflowId, lastState));
          }, opts.timeoutMs);
        });
  const poll = (async () => {
    while (!settled) {
      const state = await currentState(handle, opts, interval).catch(() => undefined);
      if (settled) break;
      if (state) line.update((lastState = state));
      await withTimeout(
        result.catch(() => undefined),
        interval,
      );
    }
  })();
  try {
    const value = await (timedOut ? Promise.race([result, timedOut]) : result);
    await poll;
    line.stop('done');
    return value;
  } catch (err) {
    // The wait may end before the workflow: its result is then no one's to handle.
    result.catch(() => undefined);
    await poll;
    line.stop(err instanceof WaitTimeoutError ? err.message : `failed: ${errorMessage(err)}`);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
