import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DataConverter } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  bundleWorkflowCode,
  Worker,
  type WorkerOptions,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { inject } from 'vitest';
import { stack } from './stack';

const WORKFLOWS_PATH = path.resolve(__dirname, '../../workflows/index.ts');

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
let encryptedBundle: Promise<WorkflowBundleWithSourceMap> | undefined;
let sharedEnv: Promise<TestWorkflowEnvironment> | undefined;

/**
 * The project's workflows, bundled once per test run: the first test file that needs a bundle
 * makes it and leaves it in the run's folder (the global setup's `testRunDir`, made for every
 * run, so it is always of the current sources); the other files read it instead of bundling
 * again (vitest isolates modules per file). With a `failureConverterPath` (payload encryption on),
 * the bundle carries that failure converter, as the production worker's does.
 */
export function workflowBundle(
  opts: { failureConverterPath?: string } = {},
): Promise<WorkflowBundleWithSourceMap> {
  if (opts.failureConverterPath) {
    const { failureConverterPath } = opts;
    encryptedBundle ??= runBundle(`encrypted-${hash(failureConverterPath)}`, () =>
      bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, failureConverterPath, logger: quietBundlerLogger }),
    );
    return encryptedBundle;
  }
  bundle ??= runBundle('plain', () =>
    bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger }),
  );
  return bundle;
}

const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);

/** The bundle `name` of this run: read from the run's folder, else made and written there. */
async function runBundle(
  name: string,
  make: () => Promise<WorkflowBundleWithSourceMap>,
): Promise<WorkflowBundleWithSourceMap> {
  const runDir = inject('testRunDir');
  if (!runDir) return make();
  const dir = path.join(runDir, 'workflow-bundles');
  const file = path.join(dir, `${name}.json`);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as WorkflowBundleWithSourceMap;
  const made = await make();
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${file}.${process.pid}`, JSON.stringify({ code: made.code, sourceMap: made.sourceMap }));
  renameSync(`${file}.${process.pid}`, file);
  return made;
}

const quietBundlerLogger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => process.stderr.write(`bundler: ${message}\n`),
  error: (message: string) => process.stderr.write(`bundler: ${message}\n`),
  log: () => undefined,
};

/**
 * A test environment on the shared dev server (real persistence, visibility and Schedules).
 * Cached per file; call `await (await testEnv()).teardown()` in `afterAll`.
 */
export function testEnv(): Promise<TestWorkflowEnvironment> {
  const { temporalAddress, namespace } = stack();
  sharedEnv ??= TestWorkflowEnvironment.createFromExistingServer({ address: temporalAddress, namespace });
  return sharedEnv;
}

/**
 * A time-skipping environment on a fresh Java test server, for workflows whose timers last days
 * or months. It has no Schedules, no visibility and one clock: one per test file.
 */
export function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: stack().tools.temporalTestServer } },
  });
}

/**
 * Run a worker with the project's workflows and the given activities while `fn` runs, then shut
 * it down (also when `fn` throws). With `dataConverter` (see test/harness/codec.ts) the worker
 * encrypts payloads as the production worker does when a codec key is configured.
 */
export async function runWorker<T>(opts: TestWorkerOptions, fn: (worker: Worker) => Promise<T>): Promise<T> {
  const worker = await createTestWorker(opts);
  return worker.runUntil(fn(worker));
}

/** What {@link runWorker} and {@link startTestWorker} take. */
export interface TestWorkerOptions {
  env: TestWorkflowEnvironment;
  taskQueue: string;
  activities: object;
  dataConverter?: DataConverter;
  worker?: Partial<Omit<WorkerOptions, 'connection' | 'taskQueue' | 'activities' | 'workflowBundle'>>;
}

/**
 * Start a worker like {@link runWorker}'s and keep it polling until `stop()`: for a file whose
 * tests share one worker instead of paying a start and a shutdown per test.
 */
export async function startTestWorker(
  opts: TestWorkerOptions,
): Promise<{ worker: Worker; stop(): Promise<void> }> {
  const worker = await createTestWorker(opts);
  const running = worker.run();
  return {
    worker,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}

async function createTestWorker(opts: TestWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.env.nativeConnection,
    namespace: opts.env.namespace ?? 'default',
    taskQueue: opts.taskQueue,
    workflowBundle: await workflowBundle({ failureConverterPath: opts.dataConverter?.failureConverterPath }),
    activities: opts.activities,
    dataConverter: opts.dataConverter,
    ...opts.worker,
  });
}

/** A unique id for a workflow, schedule or task queue, so tests never collide on the shared server. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}
