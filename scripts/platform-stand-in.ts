/**
 * The SecurityV0 platform API stand-in, for the tests and for `npm run dev` (the platform is not
 * part of this project): `GET /api/v1/syncs?connector=<name>&limit=1` with a bearer token, as
 * docs/connectors.md describes it, answered from the syncs it was told of. The sample connector
 * image (test/fixtures/connector-image) talks to it: `POST /test/submissions` is what a connector
 * submitted (the sha256 of a variable, never its value), and `GET /test/gates/<name>` is where it
 * waits for a test's go-ahead.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How containers on a bridge network reach a server on the host (Podman's name for it). */
export const CONTAINER_HOST = 'host.containers.internal';

/** A sync as the platform reports it (the fields of `GET /api/v1/syncs`). */
export interface PlatformSync {
  connector: string;
  status: 'succeeded' | 'failed';
  startedAt: string;
  completedAt: string;
}

/** What the test connector image posts: the sha256 of one variable's value, never the value. */
export interface Submission {
  connector: string;
  name: string;
  sha256: string;
}

/**
 * Start the stand-in. It listens on every interface: the worker reaches it at `url` (127.0.0.1),
 * connector containers on a bridge network at `containerUrl` (the host as containers see it).
 */
export async function startPlatform(opts: {
  token: string;
  /** @default any free port */
  port?: number;
  /** Keep the syncs in this JSON file, so they outlive a restart. @default in memory only */
  stateFile?: string;
  /**
   * Record a sync for a connector each time it submits (`POST /test/submissions`), as the
   * platform does. @default false: tests add the syncs they need themselves
   */
  syncOnSubmission?: boolean;
}) {
  const state = { token: opts.token };
  const syncs = new Map<string, PlatformSync[]>(
    opts.stateFile && existsSync(opts.stateFile)
      ? (JSON.parse(readFileSync(opts.stateFile, 'utf8')) as [string, PlatformSync[]][])
      : [],
  );
  /** Record a sync that completed at `at`; only the newest few per connector are kept. */
  const addSync = (connector: string, at: Date, status: PlatformSync['status'] = 'succeeded') => {
    const iso = at.toISOString();
    syncs.set(connector, [
      ...(syncs.get(connector) ?? []).slice(-49),
      { connector, status, startedAt: iso, completedAt: iso },
    ]);
    if (opts.stateFile) writeFileSync(opts.stateFile, JSON.stringify([...syncs]));
  };
  const submissions: Submission[] = [];
  const syncQueries: { connector: string | null; authorized: boolean }[] = [];
  const openGates = new Set<string>();
  const gateChecks: string[] = [];

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://platform');
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      if (req.method === 'GET' && url.pathname === '/api/v1/syncs') {
        const authorized = req.headers.authorization === `Bearer ${state.token}`;
        const connector = url.searchParams.get('connector');
        syncQueries.push({ connector, authorized });
        if (!authorized) return void res.writeHead(401).end();
        const limit = Number(url.searchParams.get('limit') ?? 50);
        const list = (connector ? (syncs.get(connector) ?? []) : [...syncs.values()].flat())
          .slice()
          .sort((a, b) => b.startedAt.localeCompare(a.startedAt))
          .slice(0, limit);
        return void res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ syncs: list }));
      }
      const gate = /^\/test\/gates\/([A-Za-z0-9_]+)$/.exec(url.pathname)?.[1];
      if (req.method === 'GET' && gate !== undefined) {
        gateChecks.push(gate);
        return void res.writeHead(openGates.has(gate) ? 200 : 503).end();
      }
      if (req.method === 'POST' && url.pathname === '/test/submissions') {
        try {
          const submission = JSON.parse(raw) as Submission;
          submissions.push(submission);
          // As the platform records a sync when a connector submits its findings.
          if (opts.syncOnSubmission && typeof submission.connector === 'string' && submission.connector)
            addSync(submission.connector.slice(0, 100), new Date());
          return void res.writeHead(201).end();
        } catch {
          return void res.writeHead(400).end();
        }
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '0.0.0.0', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    containerUrl: `http://${CONTAINER_HOST}:${port}`,
    submissions,
    syncQueries,
    /** Names of the gates connectors asked about, one entry per check (SV0_TEST_WAIT_GATE). */
    gateChecks,
    /** Let connectors waiting on `name` finish. */
    openGate(name: string) {
      openGates.add(name);
    },
    /** Change the token the API accepts (a rotated token: the orchestrator's is refused). */
    setToken(token: string) {
      state.token = token;
    },
    /** Record a sync that completed at `at` (newest first in answers). */
    addSync,
    /** Wait until `pred` holds, or fail after `timeoutMs`. */
    async waitFor(pred: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!pred()) {
        if (Date.now() > deadline)
          throw new Error(`platform stand-in: ${what} did not happen within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type PlatformStandIn = Awaited<ReturnType<typeof startPlatform>>;
