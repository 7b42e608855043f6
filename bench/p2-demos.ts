/**
 * P2 live demos: N demo lifecycle workflows (the real workflow) on one worker process and a server
 * of their own (P2: the dev server, SQLite in memory; P5: the production server). The worker
 * process is the production one with stub AWS activities of the real names and shapes
 * (bench/worker-child.ts): AWS is not the subject, the timers and the worker are.
 * - Start: N starts, a bounded number in flight; then every demo deploys (stub) and waits.
 * - TTLs are staggered: `expiring` of the N (spread evenly through the start order) get TTLs that
 *   put their expiries evenly over a window after all are deployed; the rest get production TTLs
 *   of 2 h to 24 h and are still waiting when the benchmark ends (then the server is stopped).
 * - RSS: sampled each second in the worker's own process, from all deployed to the end.
 * - Lateness: when the teardown began (the stub deleteDemoStack ran on the worker) minus the
 *   demo's expiry as the workflow computes it: its start time (visibility) + its TTL.
 * Targets: RSS < 500 MB, p99 lateness < 60 s.
 */
import { writeFileSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import type { DemoInput } from '../lib/contracts/demo';
import { TaskQueues, WorkflowIds, WorkflowTypes } from '../lib/names';
import { demoLifecycleWorkflow } from '../workflows/demo/lifecycle';
import { benchTemporal, type ServerKind } from './temporal';
import type { WorkerChildConfig } from './worker-child';
import { forkWorker, imageProcessSettings, memorySplit } from './worker-fork';
import {
  CpuMeter,
  formatCpu,
  mib,
  pool,
  quantile,
  secs,
  sleep,
  type BenchContext,
  type Benchmark,
  type Row,
} from './support';

interface Plan {
  /** Demos live at once: the waiting ones plus the expiring cohort. */
  n: number;
  /** The cohort that expires during the run; the other n - expiring keep production TTLs (hours). */
  expiring: number;
  /** First expiry of the cohort, from the start of the cohort's starts. */
  firstExpiryMs: number;
  /** The cohort's expiries are spread evenly over this window. */
  windowMs: number;
  warnBeforeMs: number;
  startConcurrency: number;
  tuning: WorkerChildConfig['tuning'];
  /** Environment for the worker process over the image's (another allocator, SV0_* settings). */
  env?: Record<string, string>;
  /** Node.js flags for the worker process. */
  execArgv?: string[];
  /** The dev server's SQLite in memory rather than in a file: a file costs the server about 3x the CPU per demo (measured). */
  inMemory: boolean;
  /** A file to write every memory sample to (JSON lines), for a closer look at a run; `{id}` in it becomes the benchmark's id (P2, P5). */
  samplesFile?: string;
  /** The benchmark's hard time cap in minutes (quick: 3): raise it with n. */
  capMinutes?: number;
}

/** SV0_BENCH_P2 or SV0_BENCH_P5 (JSON, part of a Plan) overrides that benchmark's plan: for calibrating on a new machine. */
const override = (name: 'SV0_BENCH_P2' | 'SV0_BENCH_P5') =>
  JSON.parse(process.env[name] ?? '{}') as Partial<Plan>;

/**
 * 10,000 demos live, the count an operator who outgrew one VM has in mind. On two cores the dev
 * server deploys about 13 a second (its CPU is the limit: about 0.08 CPU-seconds per deploy,
 * the worker 0.04), so the deploys take about 12 minutes and the run about 15.
 * `SV0_BENCH_P2='{"n":3000}'` is a shorter run for a slow machine.
 */
const FULL: Plan = {
  n: 10_000,
  expiring: 500,
  firstExpiryMs: 90_000,
  windowMs: 90_000,
  warnBeforeMs: 30_000,
  startConcurrency: 50,
  tuning: {},
  inMemory: true,
  capMinutes: 20,
};
const QUICK: Plan = {
  n: 300,
  expiring: 100,
  firstExpiryMs: 45_000,
  windowMs: 30_000,
  warnBeforeMs: 10_000,
  startConcurrency: 50,
  tuning: {},
  inMemory: true,
};

/** Production-like TTLs for the demos that do not expire during the run: 2 h to 24 h. */
const LONG_TTL_MS = { min: 2 * 3_600_000, max: 24 * 3_600_000 };
const demoId = (i: number) => `p2-${i}`;
const longTtl = (plan: Plan, i: number) =>
  LONG_TTL_MS.min + Math.floor(((LONG_TTL_MS.max - LONG_TTL_MS.min) * i) / plan.n);

/**
 * The TTL of cohort demo k, decided as it starts: the TTL that puts its expiry at its slot in the
 * window (slots are absolute times from the cohort's first start, so a slow start does not bunch
 * the expiries up), and at least twice the warning lead so the warning still goes out first.
 */
function cohortTtl(plan: Plan, k: number, c0: number, now: number): number {
  const slot = c0 + plan.firstExpiryMs + Math.floor((plan.windowMs * k) / plan.expiring);
  return Math.max(slot - now, 2 * plan.warnBeforeMs);
}

function demoInput(plan: Plan, i: number, ttlMs: number): DemoInput {
  return {
    id: demoId(i),
    scenario: { name: 'bench', maxTtlMs: 48 * 3_600_000 },
    owner: 'bench',
    ttlMs,
    target: {
      accountId: '222222222222',
      accountName: 'sv0-demo',
      roleName: 'sv0-orchestrator-deploy',
      externalId: 'bench',
    },
    managementAccountId: '111111111111',
    org: { accounts: [{ name: 'sv0-demo', sandbox: true }] },
    notifications: [],
    warnBeforeMs: plan.warnBeforeMs,
  };
}

/** Wait until `done()` or the cap; false at the cap. */
async function until(ctx: BenchContext, done: () => boolean, everyMs = 250): Promise<boolean> {
  while (!done()) {
    if (ctx.signal.aborted) return false;
    await sleep(everyMs);
  }
  return true;
}

async function startTimes(client: Client): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const w of client.workflow.list({ query: `WorkflowType = '${WorkflowTypes.demoLifecycle}'` }))
    out.set(w.workflowId, w.startTime.getTime());
  return out;
}

/** P2's figures, for P5's comparison of the two servers. */
export interface DemoFigures {
  server: string;
  n: number;
  /** Waiting demos deployed per second, first start to all deployed (undefined: not before the cap). */
  deployedPerSecond?: number;
  /** CPU seconds per deployed demo, by process. */
  cpuPerDemo: Record<string, number | undefined>;
  rssPeak?: number;
  p99?: number;
}

/** P2's plan for this run: the full or quick one with SV0_BENCH_P2's overrides. */
export const demoPlan = (quick: boolean): Plan => ({
  ...(quick ? QUICK : FULL),
  ...override('SV0_BENCH_P2'),
});

/**
 * P5's plan: P2's with 3,000 demos (above sv0-infra's cache of 250, so the cache is as full as at
 * 10,000), because the production server deploys about two thirds as fast as the dev server and
 * 10,000 would take P5 over 20 minutes. SV0_BENCH_P5 overrides it.
 */
export const productionDemoPlan = (quick: boolean): Plan => ({
  ...(quick ? QUICK : { ...FULL, n: 3000, capMinutes: 9 }),
  ...override('SV0_BENCH_P5'),
});

/**
 * Run P2's plan against a server of the given kind; rows carry `id`. The worker process runs
 * both task queues' workers with the image's process settings (bench/worker-fork.ts).
 */
export async function measureDemos(
  ctx: BenchContext,
  id: string,
  kind: ServerKind,
  plan: Plan,
): Promise<{ rows: Row[]; figures: DemoFigures }> {
  const t = await benchTemporal(ctx, { kind, inMemory: plan.inMemory });
  const config: WorkerChildConfig = {
    address: t.address,
    namespace: t.namespace,
    bundlePath: ctx.bundlePath,
    activities: { kind: 'demo-stubs' },
    tuning: plan.tuning,
  };
  const worker = await forkWorker(ctx, `${id} worker process`, config, plan);
  const state = worker.state;
  const cpu = new CpuMeter({ ...t.processes, worker: worker.child.pid, client: process.pid });

  // 1. Start the waiting demos (TTLs of hours) and let them deploy.
  const waitingCount = plan.n - plan.expiring;
  const start = (i: number, ttlMs: number) =>
    t.client.workflow.start(demoLifecycleWorkflow, {
      taskQueue: TaskQueues.infra,
      workflowId: WorkflowIds.demo(demoId(i)),
      args: [demoInput(plan, i, ttlMs)],
    });
  const t0 = Date.now();
  await pool(
    Array.from({ length: waitingCount }, (_, i) => i),
    plan.startConcurrency,
    ctx.signal,
    (i) => start(i, longTtl(plan, i)).then(() => undefined),
  );
  const startMs = Date.now() - t0;
  ctx.log(`started ${waitingCount} in ${secs(startMs)}; ${cpu.read()}`);
  const allReady = await until(ctx, () => (state.last?.ready ?? 0) >= waitingCount);
  const readyAt = Date.now();
  const deploySplit = cpu.split();
  const deployCpu = formatCpu(deploySplit);
  ctx.log(`${state.last?.ready ?? 0} deployed after ${secs(readyAt - t0)}; ${deployCpu}`);

  // 2. Start the cohort while those wait: n demos live, the cohort's expiries spread over the window.
  const ttls = new Map<string, number>();
  const c0 = Date.now();
  await pool(
    Array.from({ length: plan.expiring }, (_, k) => k),
    plan.startConcurrency,
    ctx.signal,
    async (k) => {
      const ttlMs = cohortTtl(plan, k, c0, Date.now());
      ttls.set(WorkflowIds.demo(demoId(waitingCount + k)), ttlMs);
      await start(waitingCount + k, ttlMs);
    },
  );
  const cohortStartMs = Date.now() - c0;
  const cohortReady = await until(ctx, () => (state.last?.ready ?? 0) >= plan.n);
  ctx.log(
    `cohort of ${plan.expiring} started in ${secs(cohortStartMs)}, deployed ${secs(Date.now() - c0)} after its first start`,
  );

  // 3. Until every expiring demo's teardown began (or the cap).
  cpu.reset();
  await until(ctx, () => state.teardowns.size >= ttls.size, 1000);
  const endAt = Date.now();
  const expiryCpu = cpu.read();
  ctx.log(`${state.teardowns.size} teardowns after ${secs(endAt - t0)}; expiry phase ${expiryCpu}`);

  // 4. Lateness against each workflow's own expiry; demos still waiting at the cap count as late as they are now.
  const starts = await startTimes(t.client);
  const lateness: number[] = [];
  let missing = 0;
  for (const [workflowId, ttlMs] of ttls) {
    const startedAt = starts.get(workflowId);
    if (startedAt === undefined) continue;
    const expiry = startedAt + ttlMs;
    const began = state.teardowns.get(workflowId);
    if (began !== undefined) lateness.push(began - expiry);
    else if (expiry < endAt) {
      missing++;
      lateness.push(endAt - expiry);
    }
  }
  const waiting = state.memory.filter((s) => s.at >= readyAt);
  const waitPeak = Math.max(...waiting.map((s) => s.rss));
  const atPeak = waiting.find((s) => s.rss === waitPeak);
  const split = atPeak
    ? `; at that peak ${memorySplit(atPeak)}; median while waiting ${mib(
        quantile(
          waiting.map((s) => s.rss),
          0.5,
        ),
      )}`
    : '';
  if (plan.samplesFile)
    writeFileSync(
      plan.samplesFile.replace('{id}', id),
      state.memory.map((s) => JSON.stringify({ ...s, waiting: s.at >= readyAt })).join('\n'),
    );
  const peak = Math.max(...state.memory.map((s) => s.rss));
  const p50 = quantile(lateness, 0.5);
  const p99 = quantile(lateness, 0.99);
  const max = Math.max(...lateness);
  const changed = [
    ...(Object.keys(plan.tuning).length ? [`SDK options ${JSON.stringify(plan.tuning)}`] : []),
    ...Object.entries(plan.env ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(plan.execArgv ?? []),
  ];
  const image = Object.entries(imageProcessSettings())
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const settings = `the production worker process (workers/main.ts, both task queues) with the image's ${image || 'defaults'}${
    worker.missingPreloads.length ? ` (NOT LOADED here: ${worker.missingPreloads.join(', ')})` : ''
  }${changed.length ? `, and ${changed.join(', ')}` : ''}`;
  const window = `${ttls.size} of ${plan.n} expire in a ${secs(plan.windowMs, 0)} window from ${secs(plan.firstExpiryMs, 0)} after their first start, while the others wait (warning ${secs(plan.warnBeforeMs, 0)} before); the others have TTLs of 2-24 h`;
  const rows: Row[] = [
    {
      id,
      what: `start ${plan.n} demo lifecycle workflows (${plan.startConcurrency} starts in flight)`,
      target: '-',
      measured: secs(startMs + cohortStartMs),
      notes: `${waitingCount} waiting demos started in ${secs(startMs)} (${(waitingCount / (startMs / 1000)).toFixed(0)}/s), all deployed (stub AWS activities) ${allReady ? `${secs(readyAt - t0)} after the first start` : 'not before the cap'}, CPU meanwhile: ${deployCpu}; then the cohort of ${plan.expiring} in ${secs(cohortStartMs)}${cohortReady ? '' : ' (not all deployed before the cap)'}; ${t.description}`,
    },
    {
      id,
      what: `worker RSS while ${plan.n} demos wait on their timers (peak)`,
      target: '< 500 MB',
      measured: waiting.length ? mib(waitPeak) : 'no sample',
      pass: allReady && waiting.length > 0 && waitPeak < 500 * 1024 * 1024,
      notes: `${waiting.length} samples (1/s, the worker process's RSS) from all deployed to the end; peak over the whole run ${mib(peak)}${split}; ${settings}`,
    },
    {
      id,
      what: 'teardown start after expiry (TTL), p50',
      target: '-',
      measured: lateness.length ? secs(p50, 2) : 'no expiry before the cap',
      notes: window,
    },
    {
      id,
      what: 'teardown start after expiry (TTL), p99',
      target: '< 60 s',
      measured: lateness.length ? secs(p99, 2) : 'no expiry before the cap',
      pass: missing === 0 && lateness.length === ttls.size && p99 < 60_000,
      notes: `max ${lateness.length ? secs(max, 1) : '-'}; ${state.teardowns.size} of ${ttls.size} torn down${missing ? `, ${missing} still waiting at the cap (counted as late as they were then)` : ''}; CPU in the expiry phase: ${expiryCpu}`,
    },
  ];
  const deployed = state.last?.ready ?? 0;
  const figures: DemoFigures = {
    server: t.description,
    n: plan.n,
    deployedPerSecond: allReady ? waitingCount / ((readyAt - t0) / 1000) : undefined,
    cpuPerDemo: Object.fromEntries(
      Object.entries(deploySplit.cpu).map(([name, s]) => [
        name,
        s === undefined || !deployed ? undefined : s / deployed,
      ]),
    ),
    rssPeak: waiting.length ? waitPeak : undefined,
    p99: lateness.length ? p99 : undefined,
  };
  return { rows, figures };
}

export const p2: Benchmark = {
  id: 'P2',
  title: 'live demos: demo lifecycle workflows with staggered TTLs',
  method:
    "The real demoLifecycleWorkflow on sv0-infra with stub AWS activities of the same names and shapes (they answer at once; AWS is not the subject), in the production worker process (both task queues' workers, its settings, the image's allocator and Node settings) as a child process (its RSS is its own, sampled each second), and a dev server of its own (SQLite in memory). Expiring demos get TTLs that spread their expiries over a window; the others 2-24 h. Lateness = the stub deleteDemoStack starting on the worker minus (workflow start time + TTL).",
  capMs: {
    full: (demoPlan(false).capMinutes ?? 20) * 60_000,
    quick: (demoPlan(true).capMinutes ?? 3) * 60_000,
  },
  async run(ctx) {
    const { rows, figures } = await measureDemos(ctx, 'P2', 'dev', demoPlan(ctx.quick));
    ctx.figures.demos.dev = figures;
    return rows;
  },
};
