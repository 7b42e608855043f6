import { workerSettings } from '../lib/config/worker';
/**
 * A benchmark's own Temporal server, its client and in-process workers, each registered with the
 * benchmark's cleanup stack. The server is the dev server (scripts/local-stack.ts) or the
 * production one: PostgreSQL and the PostgreSQL-backed server as docker-compose.temporal.yml runs
 * them (scripts/prod-stack.ts).
 */
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { ConnectorSpec } from '../lib/config/connectors';
import { startDevServer } from '../scripts/local-stack';
import { startProductionStack } from '../scripts/prod-stack';
import { processTreeCpu, sleep, type BenchContext, type CpuSource } from './support';

export type ServerKind = 'dev' | 'production';

export interface BenchTemporal {
  kind: ServerKind;
  /** What the server is, for the results' notes. */
  description: string;
  address: string;
  namespace: string;
  client: Client;
  native: NativeConnection;
  /** The server's processes, by name, for the CPU split (PostgreSQL with its backends). */
  processes: Record<string, CpuSource>;
}

/**
 * Start a server of the given kind and connect a client and a worker connection. The dev server
 * persists to a SQLite file in the benchmark's temp dir (closer to a real deployment than the
 * in-memory default) unless `inMemory`.
 */
export async function benchTemporal(
  ctx: BenchContext,
  opts: { kind?: ServerKind; inMemory?: boolean } = {},
): Promise<BenchTemporal> {
  const kind = opts.kind ?? 'dev';
  let address: string;
  let namespace: string;
  let description: string;
  let processes: Record<string, CpuSource>;
  if (kind === 'production') {
    // Its own directory (PostgreSQL, another user, must reach it): removed when it stops.
    const stack = await startProductionStack({ tools: ctx.tools });
    ctx.cleanup.add('production stack', () => stack.stop());
    ({ address, namespace } = stack);
    description = 'production server (PostgreSQL, as docker-compose.temporal.yml runs it)';
    processes = {
      server: stack.temporal.child?.pid,
      postgresql: processTreeCpu(stack.postgres.child?.pid),
    };
  } else {
    const inMemory = opts.inMemory ?? process.env.SV0_BENCH_DB === 'memory';
    const server = await startDevServer(
      ctx.tools,
      inMemory ? {} : { dbFile: path.join(ctx.tmpDir, 'temporal.db') },
    );
    ctx.cleanup.add('temporal dev server', () => server.stop());
    ({ address, namespace } = server);
    description = `dev server (SQLite ${inMemory ? 'in memory' : 'file'})`;
    processes = { server: server.child.pid };
  }
  const connection = await Connection.connect({ address });
  ctx.cleanup.add('client connection', () => connection.close());
  const native = await NativeConnection.connect({ address });
  ctx.cleanup.add('worker connection', () => native.close());
  return {
    kind,
    description,
    address,
    namespace,
    client: new Client({ connection, namespace }),
    native,
    processes,
  };
}

/** Start an in-process worker on the bench bundle; cleanup shuts it down and waits for it. */
export async function startBenchWorker(
  ctx: BenchContext,
  t: BenchTemporal,
  opts: Omit<WorkerOptions, 'connection' | 'namespace' | 'workflowBundle' | 'workflowsPath'>,
): Promise<Worker> {
  const worker = await Worker.create({
    connection: t.native,
    namespace: t.namespace,
    workflowBundle: { codePath: ctx.bundlePath },
    ...opts,
  });
  const running = worker.run();
  ctx.cleanup.add(`worker on ${opts.taskQueue}`, async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running.catch((err: unknown) =>
      ctx.log(`worker on ${opts.taskQueue} stopped with: ${(err as Error).message}`),
    );
  });
  return worker;
}

/** Wait until a visibility count reaches `n`; returns when it did (Date.now()), or throws at the cap. */
export async function waitForCount(
  ctx: BenchContext,
  client: Client,
  query: string,
  n: number,
  everyMs = 200,
): Promise<number> {
  for (;;) {
    const { count } = await client.workflow.count(query);
    if (count >= n) return Date.now();
    if (ctx.signal.aborted) throw new Error(`time cap reached with ${count} of ${n} for ${query}`);
    await sleep(everyMs);
  }
}

/** A connector as `sv0 connectors apply` would pass it, with the benchmark's image and args. */
/** The network bench connectors join: the platform's, as in production (host networking is refused). */
export const BENCH_NETWORK = 'sv0-platform_default';

/** Worker settings that allow the bench connectors: local images on {@link BENCH_NETWORK}. */
export const benchWorkerSettings = workerSettings({
  connectors: { ...workerSettings().connectors, images: ['localhost/'], networks: [BENCH_NETWORK] },
});

export function benchConnector(name: string, over: Partial<ConnectorSpec> = {}): ConnectorSpec {
  return {
    name,
    enabled: true,
    image: 'localhost/sv0-bench-none:1',
    args: [],
    interval: '30m',
    network: BENCH_NETWORK,
    timeout: '1m',
    memoryMb: 256,
    jitter: '1s',
    catchupWindow: '10m',
    retry: { maximumAttempts: 1, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s' },
    pauseAfterFailedRuns: 3,
    environment: {},
    secrets: [],
    ...over,
  };
}
