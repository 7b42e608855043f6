/**
 * P2 live demos: N demo lifecycle workflows (the real workflow) with staggered TTLs on one worker
 * and a dev server of their own. The AWS activities are stubs with the real names and shapes
 * (bench/p2-worker.ts): AWS is not the subject. Measures the time to start them all, the worker's
 * RSS while they wait (sampled in the worker process itself), and how late each teardown begins
 * against its TTL: teardown = when the stub deleteDemoStack runs on the worker; expiry = the
 * workflow's own start time (visibility) + its TTL, which is how the workflow computes it.
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
import { mib, pool, quantile, secs, sleep, type BenchContext, type Benchmark, type Row } from './support';

interface Plan {
  n: number;
  /** TTL of demo i: baseTtlMs + spreadMs * i / n (staggered in start order). */
  baseTtlMs: number;
  spreadMs: number;
  warnBeforeMs: number;
  startConcurrency: number;
  tuning: P2WorkerConfig['tuning'];
}

const FULL: Plan = {
  n: 10_000,
  baseTtlMs: 4 * 60_000,
  spreadMs: 2 * 60_000,
  warnBeforeMs: 30_000,
  startConcurrency: 50,
  tuning: {},
};
const QUICK: Plan = {
  n: 300,
  baseTtlMs: 40_000,
  spreadMs: 20_000,
  warnBeforeMs: 10_000,
  startConcurrency: 50,
  tuning: {},
};

const ttlOf = (plan: Plan, i: number) => plan.baseTtlMs + Math.floor((plan.spreadMs * i) / plan.n);
const demoId = (i: number) => `p2-${i}`;

function demoInput(plan: Plan, i: number): DemoInput {
  return {
    id: demoId(i),
    scenario: { name: 'bench', templateBody: '{"Resources":{}}', parameters: {}, maxTtlMs: 24 * 3_600_000 },
    owner: 'bench',
    ttlMs: ttlOf(plan, i),
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
    const plan = ctx.quick ? QUICK : FULL;
    const t = await benchTemporal(ctx);
    const state = new WorkerState();
    const config: P2WorkerConfig = {
      address: t.server.address,
      namespace: t.server.namespace,
      taskQueue: TaskQueues.infra,
      bundlePath: ctx.bundlePath,
      tuning: plan.tuning,
    };
    await forkWorker(ctx, config, state);

    // 1. Start them all.
    const indexes = Array.from({ length: plan.n }, (_, i) => i);
    const t0 = Date.now();
    await pool(indexes, plan.startConcurrency, ctx.signal, async (i) => {
      await t.client.workflow.start(demoLifecycleWorkflow, {
        taskQueue: TaskQueues.infra,
        workflowId: WorkflowIds.demo(demoId(i)),
        args: [demoInput(plan, i)],
      });
    });
    const startMs = Date.now() - t0;
    ctx.log(`started ${plan.n} in ${secs(startMs)}`);

    // 2. Until every demo is deployed and waiting on its timer.
    const allReady = await until(ctx, () => (state.last?.ready ?? 0) >= plan.n);
    const readyAt = Date.now();
    ctx.log(`${state.last?.ready ?? 0} deployed after ${secs(readyAt - t0)}`);

    // 3. Until every teardown began (or the cap).
    const firstWarn = t0 + plan.baseTtlMs - plan.warnBeforeMs;
    await until(ctx, () => state.teardowns.size >= plan.n, 1000);
    const endAt = Date.now();
    ctx.log(`${state.teardowns.size} teardowns after ${secs(endAt - t0)}`);

    // 4. Lateness against each workflow's own expiry; demos still waiting at the cap count as late as they are now.
    const starts = await startTimes(t.client);
    const lateness: number[] = [];
    let missing = 0;
    for (const i of indexes) {
      const id = WorkflowIds.demo(demoId(i));
      const startedAt = starts.get(id);
      if (startedAt === undefined) continue;
      const expiry = startedAt + ttlOf(plan, i);
      const began = state.teardowns.get(id);
      if (began !== undefined) lateness.push(began - expiry);
      else if (expiry < endAt) {
        missing++;
        lateness.push(endAt - expiry);
      }
    }
    const waiting = state.rss.filter((s) => s.at >= readyAt && s.at < firstWarn);
    const waitPeak = Math.max(...waiting.map((s) => s.rss));
    const peak = Math.max(...state.rss.map((s) => s.rss));
    const p50 = quantile(lateness, 0.5);
    const p99 = quantile(lateness, 0.99);
    const max = Math.max(...lateness);
    const tuning = Object.keys(plan.tuning).length
      ? JSON.stringify(plan.tuning)
      : 'worker defaults as in workers/main.ts';
    const rows: Row[] = [
      {
        id: 'P2',
        what: `start ${plan.n} demo workflows (${plan.startConcurrency} starts in flight)`,
        target: '-',
        measured: secs(startMs),
        notes: `${(plan.n / (startMs / 1000)).toFixed(0)} starts/s; all deployed (stub AWS) after ${allReady ? secs(readyAt - t0) : 'the cap'}`,
      },
      {
        id: 'P2',
        what: 'worker RSS while the demos wait on their timers (peak)',
        target: '< 500 MB',
        measured: waiting.length ? mib(waitPeak) : 'no sample',
        pass: waiting.length > 0 && waitPeak < 500 * 1024 * 1024,
        notes: `${waiting.length} samples, 1/s, in the worker process; peak over the whole run ${mib(peak)}; ${tuning}`,
      },
      {
        id: 'P2',
        what: 'teardown start after TTL, p50',
        target: '-',
        measured: secs(p50, 2),
        notes: `TTLs ${secs(plan.baseTtlMs, 0)} to ${secs(plan.baseTtlMs + plan.spreadMs, 0)} in start order, warning ${secs(plan.warnBeforeMs, 0)} before`,
      },
      {
        id: 'P2',
        what: 'teardown start after TTL, p99',
        target: '< 60 s',
        measured: secs(p99, 2),
        pass: lateness.length === plan.n && p99 < 60_000,
        notes: `max ${secs(max, 1)}; ${state.teardowns.size} of ${plan.n} torn down${missing ? `, ${missing} still waiting at the cap (counted as late as they were then)` : ''}`,
      },
    ];
    return rows;
  },
};
