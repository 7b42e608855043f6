/**
 * A benchmark's worker process: both task queues' workers as the production worker process runs
 * them (createWorkers in workers/main.ts, settings from the same environment), with stand-in
 * activities, in a child process of its own so that its RSS and CPU are its own (the client
 * starting thousands of workflows and the benchmark's bookkeeping live in the parent). Two sets:
 * - `demo-stubs` (P2): the real demo lifecycle workflow with stub AWS activities of the same names
 *   and shapes that answer at once (AWS is not the subject, the timers and the worker are);
 * - `sleeping-runner` (P6): the real connector sync activity with a container runner that sleeps.
 * Reports to the parent over IPC every second: memory (bench/worker-fork.ts reads it), and for
 * demos, when each teardown began.
 */
import { Context } from '@temporalio/activity';
import {
  DefaultLogger,
  makeTelemetryFilterString,
  NativeConnection,
  Runtime,
  type WorkerOptions,
} from '@temporalio/worker';
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import workerThreads from 'node:worker_threads';
import pino from 'pino';
import { createConnectorSyncActivities } from '../activities/connectors/sync';
import type { ContainerRunner } from '../activities/connectors/containers';
import type { createDemoCostActivities } from '../activities/demo/cost';
import type { createDemoLifecycleActivities } from '../activities/demo/lifecycle';
import type { createNotifyActivities } from '../activities/notify';
import { workerSecretResolver } from '../activities/secrets/resolve';
import { createLogger } from '../lib/runtime/logger';
import { createWorkers, processOptionsFromEnv } from '../workers/main';
import { benchWorkerSettings } from './temporal';

/** What the parent passes in SV0_BENCH_WORKER (JSON). */
export interface WorkerChildConfig {
  address: string;
  namespace: string;
  bundlePath: string;
  activities: { kind: 'demo-stubs' } | { kind: 'sleeping-runner'; sleepMs: number };
  /** SDK options under test, over both workers' (the production settings come from the environment). */
  tuning: Partial<
    Pick<
      WorkerOptions,
      | 'maxCachedWorkflows'
      | 'maxConcurrentWorkflowTaskExecutions'
      | 'maxConcurrentActivityTaskExecutions'
      | 'reuseV8Context'
      | 'workflowThreadPoolSize'
    >
  >;
}

/** One V8 isolate's heap (the main thread's, or a workflow thread's). */
export interface HeapSample {
  /** V8's heap as reserved. */
  total: number;
  used: number;
  /** What V8 allocated with malloc for this isolate (outside its heap). */
  malloced: number;
  external: number;
  /** Of `total`, the young generation (new space and new large objects): V8 sizes it by its flags, not by use. */
  young: number;
}

/** The process's memory from the kernel's view (/proc/self/smaps_rollup), in bytes. */
export interface KernelMemory {
  /** Anonymous memory: heaps of every isolate, the allocator's arenas, thread stacks. */
  anonymous: number;
  /** File-backed pages: the node binary's and the native libraries' code and data. */
  fileBacked: number;
  threads: number;
}

/** One IPC report. `teardowns`: [workflowId, ms since epoch when deleteDemoStack began] since the last report. */
export interface WorkerChildReport {
  type: 'report';
  rss: number;
  heapUsed: number;
  /** V8's heap as reserved (what of the RSS is the JavaScript heap). */
  heapTotal: number;
  /** Of heapTotal, the young generation. */
  heapYoung: number;
  /** Memory of buffers and native objects V8 tracks outside its heap. */
  external: number;
  /** The workflow threads' isolates (the SDK runs workflows in worker threads, each its own V8 heap). */
  threadHeaps: HeapSample[];
  kernel?: KernelMemory;
  ready: number;
  warned: number;
  destroyed: number;
  teardowns: [string, number][];
  final?: boolean;
}

type DemoActivities = ReturnType<typeof createDemoLifecycleActivities>;
type StubbedDemo = Pick<
  DemoActivities,
  | 'checkDemoTarget'
  | 'deployDemoScenario'
  | 'waitForDemoStackCreated'
  | 'describeDemoStack'
  | 'deleteDemoStack'
  | 'sweepDemoResources'
  | 'listDemoResources'
>;

let ready = 0;
let warned = 0;
let destroyed = 0;
let pending: [string, number][] = [];

/** Same names and shapes as the real activities; each answers at once, as if AWS had nothing to do. */
const demoStubs: StubbedDemo &
  ReturnType<typeof createDemoCostActivities> &
  Pick<ReturnType<typeof createNotifyActivities>, 'notify'> = {
  checkDemoTarget: () => Promise.resolve(),
  deployDemoScenario: (input) =>
    Promise.resolve({
      stackId: `arn:aws:cloudformation:us-east-1:000000000000:stack/${input.stackName}/bench`,
    }),
  waitForDemoStackCreated: () => Promise.resolve(),
  describeDemoStack: () => Promise.resolve({ outputs: {}, resources: [] }),
  deleteDemoStack: () => {
    pending.push([Context.current().info.workflowExecution?.workflowId ?? 'unknown', Date.now()]);
    return Promise.resolve({});
  },
  sweepDemoResources: () => Promise.resolve({ deleted: [], failed: [] }),
  listDemoResources: () => Promise.resolve([]),
  readDemoCost: () => Promise.resolve({ unavailable: 'not read in the benchmark' }),
  notify: (input) => {
    if (input.notification.event === 'demo.ready') ready++;
    else if (input.notification.event === 'demo.expiring') warned++;
    else if (input.notification.event === 'demo.destroyed') destroyed++;
    return Promise.resolve();
  },
};

/** A container runner that takes `ms` and exits 0, no engine involved. */
export function sleepingRunner(ms: number): ContainerRunner {
  return {
    run: () =>
      new Promise((resolve) =>
        setTimeout(() => resolve({ exitCode: 0, durationMs: ms, timedOut: false, logTail: [] }), ms),
      ),
    reapOrphans: () => Promise.resolve([]),
  };
}

/** The real connector sync activity with the given runner; its logs go nowhere (but are still written). */
function connectorActivities(runner: ContainerRunner) {
  return createConnectorSyncActivities({
    runner,
    secrets: workerSecretResolver(benchWorkerSettings, {}),
    logger: createLogger('bench-worker', pino.destination({ dest: '/dev/null', sync: false })),
    settings: benchWorkerSettings,
  });
}

/** sv0-infra polls for its activities as in production; no sync ever runs one, no demo a connector. */
function activitiesFor(config: WorkerChildConfig): { infra: object; connectors: object } {
  const sleepMs = config.activities.kind === 'sleeping-runner' ? config.activities.sleepMs : 0;
  return { infra: demoStubs, connectors: connectorActivities(sleepingRunner(sleepMs)) };
}

/**
 * The SDK runs workflows in worker threads whose V8 heaps are not in the main thread's
 * process.memoryUsage(). Each thread it starts (node:worker_threads' Worker, looked up when the
 * worker is created) first starts a reporter that broadcasts its isolate's heap statistics each
 * second, then loads the SDK's own thread code unchanged.
 */
const threadHeaps = new Map<number, HeapSample>();
const HEAP_CHANNEL = 'sv0-bench-thread-heaps';
function watchWorkflowThreadHeaps(): void {
  const channel = new workerThreads.BroadcastChannel(HEAP_CHANNEL);
  channel.unref();
  channel.onmessage = (event) => {
    const { threadId, ...heap } = (event as unknown as { data: HeapSample & { threadId: number } }).data;
    threadHeaps.set(threadId, heap);
  };
  const Original = workerThreads.Worker;
  workerThreads.Worker = class extends Original {
    constructor(filename: string | URL, options?: workerThreads.WorkerOptions) {
      const reporter = `
        const { BroadcastChannel, threadId } = require('node:worker_threads');
        const v8 = require('node:v8');
        const channel = new BroadcastChannel(${JSON.stringify(HEAP_CHANNEL)});
        channel.unref();
        setInterval(() => {
          const h = v8.getHeapStatistics();
          const young = v8.getHeapSpaceStatistics()
            .filter((s) => s.space_name.startsWith('new_'))
            .reduce((sum, s) => sum + s.space_size, 0);
          channel.postMessage({ threadId, total: h.total_heap_size, used: h.used_heap_size,
            malloced: h.malloced_memory, external: h.external_memory, young });
        }, 1000).unref();
        require(${JSON.stringify(String(filename))});`;
      super(reporter, { ...options, eval: true });
    }
  };
}

/** Anonymous and file-backed resident memory and the thread count, from /proc (Linux). */
function kernelMemory(): KernelMemory | undefined {
  try {
    const kb = (text: string, field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
    const rollup = readFileSync('/proc/self/smaps_rollup', 'utf8');
    const status = readFileSync('/proc/self/status', 'utf8');
    const anonymous = kb(rollup, 'Anonymous');
    return {
      anonymous,
      fileBacked: kb(rollup, 'Rss') - anonymous,
      threads: Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 0),
    };
  } catch {
    return undefined;
  }
}

/** The main thread's young generation (new space and new large objects), committed. */
function youngGeneration(): number {
  return v8
    .getHeapSpaceStatistics()
    .filter((space) => space.space_name.startsWith('new_'))
    .reduce((sum, space) => sum + space.space_size, 0);
}

/** Send a report; resolves once it is handed to the IPC channel (so the last one is not lost at exit). */
function report(final = false): Promise<void> {
  const mem = process.memoryUsage();
  const msg: WorkerChildReport = {
    type: 'report',
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    heapTotal: mem.heapTotal,
    heapYoung: youngGeneration(),
    external: mem.external,
    threadHeaps: [...threadHeaps.values()],
    kernel: kernelMemory(),
    ready,
    warned,
    destroyed,
    teardowns: pending,
    final,
  };
  pending = [];
  return new Promise((resolve) => {
    if (!process.connected || !process.send) return resolve();
    process.send(msg, undefined, undefined, () => resolve());
  });
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.SV0_BENCH_WORKER ?? '') as WorkerChildConfig;
  watchWorkflowThreadHeaps();
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
  });
  const connection = await NativeConnection.connect({ address: config.address });
  const workers = await createWorkers({
    connection,
    namespace: config.namespace,
    settings: processOptionsFromEnv(process.env),
    source: { workflowBundle: { codePath: config.bundlePath } },
    activities: activitiesFor(config),
    overrides: config.tuning,
  });
  const all = [workers.infra, workers.connectors];
  const stop = () => {
    for (const w of all) if (w.getState() === 'RUNNING') w.shutdown();
  };
  const timer = setInterval(() => void report(), 1000);
  process.on('message', (m: unknown) => {
    if (m === 'stop') stop();
  });
  // The parent going away (crash, cap) must not leave this worker polling.
  process.on('disconnect', stop);
  process.send?.({ type: 'started' });
  try {
    await Promise.all(all.map((w) => w.run()));
  } finally {
    clearInterval(timer);
    await report(true);
    await connection.close();
  }
}

if (require.main === module)
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`bench worker failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
