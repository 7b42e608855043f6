/**
 * P5, the production server: P2 (live demos) and P4 (sync throughput) against PostgreSQL and the
 * PostgreSQL-backed Temporal server as docker-compose.temporal.yml runs them (scripts/prod-stack.ts),
 * each on a fresh stack, compared with P2 and P4 on the dev server earlier in the same run. The
 * CPU of each process per item (server, PostgreSQL with its backends, worker, client) says which
 * part holds the rate back.
 */
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { measureDemos, productionDemoPlan, type DemoFigures } from './p2-demos';
import { measureThroughput, perItem, type ThroughputFigures } from './p4-throughput';
import { Cleanup, type BenchContext, type Benchmark, type Row } from './support';

/** Run `part` with a cleanup stack and temp dir of its own, stopped before the next part starts. */
async function apart<T>(
  ctx: BenchContext,
  name: string,
  part: (ctx: BenchContext) => Promise<T>,
): Promise<T> {
  const cleanup = new Cleanup();
  try {
    return await part({ ...ctx, cleanup, tmpDir: mkdtempSync(path.join(ctx.tmpDir, `${name}-`)) });
  } finally {
    await cleanup.run(ctx.log);
  }
}

/** The process with the most CPU per item, and what each took. */
function heaviest(cpu: Record<string, number | undefined>): string {
  const known = Object.entries(cpu).filter((e): e is [string, number] => e[1] !== undefined);
  if (known.length === 0) return 'no CPU figures';
  const [name] = known.reduce((a, b) => (b[1] > a[1] ? b : a));
  return `most CPU per item: ${name} (${perItem(cpu)})`;
}

const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || b === 0 ? undefined : a / b;

function demoRow(prod: DemoFigures | undefined, dev: DemoFigures | undefined): Row {
  const r = ratio(prod?.deployedPerSecond, dev?.deployedPerSecond);
  return {
    id: 'P5',
    what: `demo deploys per second with ${prod?.n ?? '?'} demos live, production server / dev server`,
    target: '-',
    measured: r === undefined ? 'no ratio' : r.toFixed(2),
    notes: [
      `production (${prod?.n ?? '?'} demos): ${prod?.deployedPerSecond?.toFixed(1) ?? '?'}/s, ${prod ? heaviest(prod.cpuPerDemo) : 'not measured'}`,
      `dev server (P2, ${dev?.n ?? '?'} demos): ${dev?.deployedPerSecond?.toFixed(1) ?? '?'}/s, ${dev ? heaviest(dev.cpuPerDemo) : 'not measured in this run (run P2 with P5)'}`,
    ].join('; '),
  };
}

function throughputRow(prod: ThroughputFigures | undefined, dev: ThroughputFigures | undefined): Row {
  const r = ratio(prod?.syncPerSecond, dev?.syncPerSecond);
  return {
    id: 'P5',
    what: 'connector syncs (no-op runner) per second, production server / dev server',
    target: '-',
    measured: r === undefined ? 'no ratio' : r.toFixed(2),
    notes: [
      `production: sync ${prod?.syncPerSecond.toFixed(1) ?? '?'}/s, no-op ${prod?.noopPerSecond.toFixed(1) ?? '?'}/s, ${prod ? heaviest(prod.cpuPerSync) : 'not measured'}`,
      `dev server: sync ${dev?.syncPerSecond.toFixed(1) ?? '?'}/s, no-op ${dev?.noopPerSecond.toFixed(1) ?? '?'}/s, ${dev ? heaviest(dev.cpuPerSync) : 'not measured in this run (run P4 with P5)'}`,
    ].join('; '),
  };
}

const DEMOS_CAP_MINUTES = productionDemoPlan(false).capMinutes ?? 9;

export const p5: Benchmark = {
  id: 'P5',
  title: 'the production server: P2 and P4 against PostgreSQL-backed Temporal',
  method:
    "P2's plan with 3,000 demos (SV0_BENCH_P5 overrides it) and P4 as it runs on the dev server, each against a fresh production stack: PostgreSQL (Debian's, the compose file's major version) and temporal-server with the compose file's configuration (scripts/prod-stack.ts). Ratios against P2 and P4 of the same run; CPU per item by process, PostgreSQL counted with all its backends.",
  capMs: { full: (DEMOS_CAP_MINUTES + 4) * 60_000, quick: 7 * 60_000 },
  async run(ctx) {
    const demos = await apart(ctx, 'demos', (c) =>
      measureDemos(c, 'P5', 'production', productionDemoPlan(c.quick)),
    );
    ctx.figures.demos.production = demos.figures;
    if (ctx.signal.aborted) return [...demos.rows, demoRow(demos.figures, ctx.figures.demos.dev)];
    // A throughput part that fails (its cap, a busy machine) must not take the demos' figures with it.
    const throughput = await apart(ctx, 'throughput', (c) => measureThroughput(c, 'P5', 'production')).catch(
      (err: unknown) => ({
        rows: [
          {
            id: 'P5',
            what: 'connector sync (no-op runner) / no-op workflow on the production server',
            target: '-',
            measured: 'failed',
            pass: false,
            notes: (err as Error).message,
          } satisfies Row,
        ],
        figures: undefined,
      }),
    );
    ctx.figures.throughput.production = throughput.figures;
    return [
      ...demos.rows,
      ...throughput.rows,
      demoRow(demos.figures, ctx.figures.demos.dev),
      throughputRow(throughput.figures, ctx.figures.throughput.dev),
    ];
  },
};
