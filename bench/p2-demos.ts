/**
 * P2 live demos: N demo lifecycle workflows (the real workflow) on one worker and a dev server of
 * their own (SQLite file in a temp dir). The AWS activities are stubs with the real names and
 * shapes (bench/p2-worker.ts): AWS is not the subject, the timers and the worker are.
 * - Start: N starts, a bounded number in flight; then every demo deploys (stub) and waits.
 * - TTLs are staggered: `expiring` of the N (spread evenly through the start order) get TTLs that
 *   put their expiries evenly over a window after all are deployed; the rest get production TTLs
 *   of 2 h to 24 h and are still waiting when the benchmark ends (then the server is stopped).
 * - RSS: sampled each second in the worker's own process, from all deployed to the end.
 * - Lateness: when the teardown began (the stub deleteDemoStack ran on the worker) minus the
 *   demo's expiry as the workflow computes it: its start time (visibility) + its TTL.
 * Targets: RSS < 500 MB, p99 lateness < 60 s.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { DemoInput } from '../lib/demo';
import { TaskQueues, WorkflowIds } from '../lib/names';
import { demoLifecycleWorkflow } from '../workflows/demo-lifecycle';
import type { P2WorkerConfig, P2WorkerReport } from './p2-worker';
import { benchTemporal } from './temporal';
import {
  CpuMeter,
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
  n: number;
  /** How many demos expire during the run (every n/expiring-th demo); the rest keep production TTLs (hours) and still wait at the end. */
  expiring: number;
  /** First expiry, from the first start: long enough for every demo to be started and deployed, then to wait a while. */
  firstExpiryMs: number;
  /** The expiring demos' expiries are spread evenly over this window. */
  windowMs: number;
  warnBeforeMs: number;
  startConcurrency: number;
  tuning: P2WorkerConfig['tuning'];
}

const FULL: Plan = {
  n: 10_000,
  expiring: 10_000,
  firstExpiryMs: 4 * 60_000,
  windowMs: 3 * 60_000,
  warnBeforeMs: 30_000,
  startConcurrency: 50,
  tuning: {},
};
const QUICK: Plan = {
  n: 300,
  expiring: 100,
  firstExpiryMs: 60_000,
  windowMs: 30_000,
  warnBeforeMs: 10_000,
  startConcurrency: 50,
  tuning: {},
};

/** Production-like TTLs for the demos that do not expire during the run: 2 h to 24 h. */
const LONG_TTL_MS = { min: 2 * 3_600_000, max: 24 * 3_600_000 };
const demoId = (i: number) => `p2-${i}`;

/**
 * The TTL of demo i, decided as it starts. An expiring demo gets the TTL that puts its expiry at
 * its slot in the window (slots are absolute times from the first start, so a slow start does
 * not bunch the expiries up); the others get staggered TTLs of hours.
 */
function ttlFor(plan: Plan, i: number, t0: number, now: number): { ttlMs: number; expires: boolean } {
  const stride = Math.max(1, Math.floor(plan.n / plan.expiring));
  if (i % stride === 0 && i / stride < plan.expiring) {
    const slot = t0 + plan.firstExpiryMs + Math.floor((plan.windowMs * (i / stride)) / plan.expiring);
    // At least twice the warning lead, so that the warning still goes out before expiry.
    return { ttlMs: Math.max(slot - now, 2 * plan.warnBeforeMs), expires: true };
  }
  return {
    ttlMs: LONG_TTL_MS.min + Math.floor(((LONG_TTL_MS.max - LONG_TTL_MS.min) * i) / plan.n),
    expires: false,
  };
}

function demoInput(plan: Plan, i: number, ttlMs: number): DemoInput {
  return {
    id: demoId(i),
    scenario: { name: 'bench', templateBody: '{"Resources":{}}', parameters: {}, maxTtlMs: 48 * 3_600_000 },
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

/** What the parent keeps of the worker's reports. */
class WorkerState {
  rss: { at: number; rss: number }[] = [];
  teardowns = new Map<string, number>();
  last?: P2WorkerReport;
  take(r: P2WorkerReport) {
    this.rss.push({ at: Date.now(), rss: r.rss });
    for (const [id, at] of r.teardowns) if (!this.teardowns.has(id)) this.teardowns.set(id, at);
    this.last = r;
  }
}

function forkWorker(ctx: BenchContext, config: P2WorkerConfig, state: WorkerState): Promise<ChildProcess> {
  const child = fork(path.join(__dirname, 'p2-worker.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, SV0_BENCH_P2_WORKER: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  ctx.cleanup.add('P2 worker process', async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (child.connected) child.send('stop');
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(killer);
  });
  child.on('message', (m: P2WorkerReport | { type: 'started' }) => {
    if (m.type === 'report') state.take(m);
  });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) =>
      reject(new Error(`the P2 worker exited with code ${code} before it started`)),
    );
  });
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
  for await (const w of client.workflow.list({ query: `WorkflowType = 'demoLifecycleWorkflow'` }))
    out.set(w.workflowId, w.startTime.getTime());
  return out;
}

export const p2: Benchmark = {
  id: 'P2',
  title: 'live demos: demo lifecycle workflows with staggered TTLs',
  capMs: { full: 9 * 60_000, quick: 3 * 60_000 },
  async run(ctx) {
    // SV0_BENCH_P2 (JSON, part of a Plan) overrides the plan: for calibrating on a new machine.
    const plan: Plan = {
      ...(ctx.quick ? QUICK : FULL),
      ...(JSON.parse(process.env.SV0_BENCH_P2 ?? '{}') as Partial<Plan>),
    };
    const t = await benchTemporal(ctx);
    const state = new WorkerState();
    const config: P2WorkerConfig = {
      address: t.server.address,
      namespace: t.server.namespace,
      taskQueue: TaskQueues.infra,
      bundlePath: ctx.bundlePath,
      tuning: plan.tuning,
    };
    const child = await forkWorker(ctx, config, state);
    const cpu = new CpuMeter({ server: t.server.child.pid, worker: child.pid, client: process.pid });

    // 1. Start them all; each expiring demo's TTL aims at its slot in the expiry window.
    const indexes = Array.from({ length: plan.n }, (_, i) => i);
    const ttls = new Map<string, number>();
    const t0 = Date.now();
    await pool(indexes, plan.startConcurrency, ctx.signal, async (i) => {
      const { ttlMs, expires } = ttlFor(plan, i, t0, Date.now());
      const workflowId = WorkflowIds.demo(demoId(i));
      if (expires) ttls.set(workflowId, ttlMs);
      await t.client.workflow.start(demoLifecycleWorkflow, {
        taskQueue: TaskQueues.infra,
        workflowId,
        args: [demoInput(plan, i, ttlMs)],
      });
    });
    const startMs = Date.now() - t0;
    const startCpu = cpu.read();
    ctx.log(`started ${plan.n} in ${secs(startMs)}; ${startCpu}`);

    // 2. Until every demo is deployed and waiting on its timer.
    const allReady = await until(ctx, () => (state.last?.ready ?? 0) >= plan.n);
    const readyAt = Date.now();
    const deployCpu = cpu.read();
    ctx.log(`${state.last?.ready ?? 0} deployed after ${secs(readyAt - t0)}; ${deployCpu}`);

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
    for (const [id, ttlMs] of ttls) {
      const startedAt = starts.get(id);
      if (startedAt === undefined) continue;
      const expiry = startedAt + ttlMs;
      const began = state.teardowns.get(id);
      if (began !== undefined) lateness.push(began - expiry);
      else if (expiry < endAt) {
        missing++;
        lateness.push(endAt - expiry);
      }
    }
    const waiting = state.rss.filter((s) => s.at >= readyAt);
    const waitPeak = Math.max(...waiting.map((s) => s.rss));
    const peak = Math.max(...state.rss.map((s) => s.rss));
    const p50 = quantile(lateness, 0.5);
    const p99 = quantile(lateness, 0.99);
    const max = Math.max(...lateness);
    const tuning = Object.keys(plan.tuning).length
      ? JSON.stringify(plan.tuning)
      : 'worker defaults as in workers/main.ts';
    const window = `${ttls.size} of ${plan.n} expire in a ${secs(plan.windowMs, 0)} window from ${secs(plan.firstExpiryMs, 0)} after the first start (warning ${secs(plan.warnBeforeMs, 0)} before); the others have TTLs of 2-24 h`;
    const rows: Row[] = [
      {
        id: 'P2',
        what: `start ${plan.n} demo lifecycle workflows (${plan.startConcurrency} starts in flight)`,
        target: '-',
        measured: secs(startMs),
        notes: `${(plan.n / (startMs / 1000)).toFixed(0)} starts/s; all deployed (stub AWS activities) ${allReady ? `${secs(readyAt - t0)} after the first start` : 'not before the cap'}; CPU while deploying: ${deployCpu}`,
      },
      {
        id: 'P2',
        what: `worker RSS while ${plan.n} demos wait on their timers (peak)`,
        target: '< 500 MB',
        measured: waiting.length ? mib(waitPeak) : 'no sample',
        pass: allReady && waiting.length > 0 && waitPeak < 500 * 1024 * 1024,
        notes: `${waiting.length} samples (1/s, process.memoryUsage().rss in the worker's own process) from all deployed to the end; peak over the whole run ${mib(peak)}; ${tuning}`,
      },
      {
        id: 'P2',
        what: 'teardown start after expiry (TTL), p50',
        target: '-',
        measured: secs(p50, 2),
        notes: window,
      },
      {
        id: 'P2',
        what: 'teardown start after expiry (TTL), p99',
        target: '< 60 s',
        measured: secs(p99, 2),
        pass: missing === 0 && lateness.length === ttls.size && p99 < 60_000,
        notes: `max ${secs(max, 1)}; ${state.teardowns.size} of ${ttls.size} torn down${missing ? `, ${missing} still waiting at the cap (counted as late as they were then)` : ''}; CPU in the expiry phase: ${expiryCpu}`,
      },
    ];
    return rows;
  },
};
