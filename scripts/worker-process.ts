/**
 * The production worker (workers/main.ts) as a process of its own, for `npm run dev` and for the
 * fault tests that kill it. It runs as `node --import tsx workers/main.ts` rather than through the
 * tsx CLI, which would put a second process in between: a signal sent to the pid we hold must
 * reach the worker itself (SIGKILL cannot be relayed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { TaskQueues } from '../lib/names';
import { REPO_ROOT, type Running } from './local-stack';

/**
 * Start the worker with `env` (TEMPORAL_*, DOCKER_HOST, AWS_*...). Everything it prints goes to
 * `logFile`; `onLine`, when given, also sees each line (npm run dev echoes warnings from it).
 * `stop()` sends SIGTERM (a graceful shutdown), then SIGKILL after `killAfterMs`. `root` runs the
 * worker of another checkout of the sources (a second build, for a rolling upgrade).
 */
export function startWorkerProcess(
  env: NodeJS.ProcessEnv,
  logFile: string,
  opts: { onLine?: (line: string) => void; killAfterMs?: number; root?: string } = {},
): Running {
  const log = createWriteStream(logFile, { flags: 'a' });
  const root = opts.root ?? REPO_ROOT;
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'workers', 'main.ts')], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const forward = (chunk: Buffer) => {
    log.write(chunk);
    if (opts.onLine) for (const line of chunk.toString().split('\n')) if (line) opts.onLine(line);
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  child.once('exit', () => log.end());
  return {
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs ?? 30_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/**
 * Wait until this worker process polls both task queues (bundling the workflows takes a while on
 * a cold start). Pollers are matched by the SDK's default identity, `<pid>@<host>`, because the
 * server keeps listing a worker that died for minutes after its last poll.
 */
export async function waitForWorkerPolling(
  client: Client,
  worker: ChildProcess,
  opts: { timeoutMs?: number; logFile?: string } = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 240_000;
  const identity = `${worker.pid}@${hostname()}`;
  const seeLog = opts.logFile ? `; see ${opts.logFile}` : '';
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (worker.exitCode !== null || worker.signalCode !== null)
      throw new Error(`the worker exited (${worker.exitCode ?? worker.signalCode})${seeLog}`);
    const polled = await Promise.all(
      Object.values(TaskQueues).map((name) =>
        client.workflowService
          // 1 = TASK_QUEUE_KIND_NORMAL, TASK_QUEUE_TYPE_WORKFLOW
          .describeTaskQueue({
            namespace: client.options.namespace,
            taskQueue: { name, kind: 1 },
            taskQueueType: 1,
          })
          .then((r) => (r.pollers ?? []).some((p) => p.identity === identity))
          .catch(() => false),
      ),
    );
    if (polled.every(Boolean)) return;
    if (Date.now() > deadline)
      throw new Error(
        `the worker (pid ${worker.pid}) did not poll ${Object.values(TaskQueues).join(', ')} within ${timeoutMs / 1000}s${seeLog}`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}
