/**
 * P2's worker, in a child process of its own so that the RSS it reports is the worker's alone
 * (the client starting 10,000 workflows and the benchmark's bookkeeping live in the parent).
 * Runs the real demo lifecycle workflow on sv0-infra with stub AWS activities: AWS is not the
 * subject, the timers and the worker are. Reports to the parent over IPC every second: RSS, and
 * when each demo's teardown began.
 */
import {
  DefaultLogger,
  makeTelemetryFilterString,
  NativeConnection,
  Runtime,
  Worker,
  type WorkerOptions,
} from '@temporalio/worker';
import { Context } from '@temporalio/activity';
import type { createDemoLifecycleActivities } from '../activities/demo/lifecycle';
import type { createNotifyActivities } from '../activities/notify';
import { settingsFromEnv } from '../workers/main';

/** What the parent passes in SV0_BENCH_P2_WORKER (JSON). */
export interface P2WorkerConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  bundlePath: string;
  /** Worker tuning under test (maxCachedWorkflows, ...); empty = the production worker's defaults. */
  tuning: Partial<
    Pick<
      WorkerOptions,
      'maxCachedWorkflows' | 'maxConcurrentWorkflowTaskExecutions' | 'maxConcurrentActivityTaskExecutions'
    >
  >;
}

/** One IPC report. `teardowns`: [workflowId, ms since epoch when deleteDemoStack began] since the last report. */
export interface P2WorkerReport {
  type: 'report';
  rss: number;
  heapUsed: number;
  /** V8's heap as reserved (what of the RSS is the JavaScript heap). */
  heapTotal: number;
  /** Memory of buffers and native objects V8 tracks outside its heap. */
  external: number;
  ready: number;
  warned: number;
  destroyed: number;
  teardowns: [string, number][];
  final?: boolean;
}

type StubbedDemo = Pick<
  ReturnType<typeof createDemoLifecycleActivities>,
  | 'checkDemoTarget'
  | 'createDemoStack'
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
const stubs: StubbedDemo & Pick<ReturnType<typeof createNotifyActivities>, 'notify'> = {
  checkDemoTarget: () => Promise.resolve(),
  createDemoStack: (input) =>
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
  notify: (input) => {
    if (input.notification.event === 'demo.ready') ready++;
    else if (input.notification.event === 'demo.expiring') warned++;
    else if (input.notification.event === 'demo.destroyed') destroyed++;
    return Promise.resolve();
  },
};

/** Send a report; resolves once it is handed to the IPC channel (so the last one is not lost at exit). */
function report(final = false): Promise<void> {
  const mem = process.memoryUsage();
  const msg: P2WorkerReport = {
    type: 'report',
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    heapTotal: mem.heapTotal,
    external: mem.external,
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
  const config = JSON.parse(process.env.SV0_BENCH_P2_WORKER ?? '') as P2WorkerConfig;
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
  });
  const connection = await NativeConnection.connect({ address: config.address });
  const worker = await Worker.create({
    connection,
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    workflowBundle: { codePath: config.bundlePath },
    activities: stubs,
    // The production sv0-infra worker's cache bound (workers/main.ts), unless the plan tunes it.
    maxCachedWorkflows: settingsFromEnv({}).maxCachedWorkflows,
    ...config.tuning,
  });
  const timer = setInterval(() => void report(), 1000);
  process.on('message', (m: unknown) => {
    if (m === 'stop' && worker.getState() === 'RUNNING') worker.shutdown();
  });
  // The parent going away (crash, cap) must not leave this worker polling.
  process.on('disconnect', () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
  });
  process.send?.({ type: 'started' });
  try {
    await worker.run();
  } finally {
    clearInterval(timer);
    await report(true);
    await connection.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`p2 worker failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
