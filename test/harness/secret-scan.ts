/**
 * No secret anywhere: read every workflow history (and schedule) on the test server, as stored and
 * decoded through the payload codec, plus the logs the tests captured, and look for every secret
 * value the tests used, in plain and base64 form.
 *
 *   const logs = captureLogs();
 *   const logger = createLogger('test', logs.stream);
 *   ... run workflows ...
 *   await assertNoSecretsLeaked({ client: env.client, codecs: [codec], secrets: [token], logs: [logs.text()], since });
 *
 * `client` should have no codec of its own: the scan reads raw protos through its connection.
 */
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { Runtime, type Logger, type LogLevel, type LogMetadata } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import type { Payload, PayloadCodec } from '@temporalio/common';

/** Where a secret was found; `secret` is masked so the report itself leaks nothing. */
export interface SecretHit {
  secret: string;
  form: 'plain' | 'base64' | 'base64url';
  where: string;
}

export interface SecretScanOptions {
  /** Client on the server to scan; only its connection is used (raw protos, no data converter). */
  client: Client;
  /** Secret values the tests used. Values shorter than 6 characters are refused (they match by chance). */
  secrets: string[];
  /**
   * Codecs to decode payloads with, to scan the plaintext view too; each is tried in turn.
   * Payloads none of them can decode (another file's keys) are counted, not scanned.
   */
  codecs?: PayloadCodec[];
  /** Captured log text (see {@link captureLogs}). */
  logs?: string[];
  /** Only workflows started at or after this time (the test file's start). */
  since?: Date;
  /** Extra visibility filter, e.g. `WorkflowId = "x"`. */
  query?: string;
}

export interface SecretScanReport {
  hits: SecretHit[];
  histories: number;
  schedules: number;
  payloads: number;
  decoded: number;
  /** Payloads the given codecs could not decode (another test file's keys), by error message. */
  undecodable: number;
}

/** A log destination for `createLogger(name, stream)` that keeps every line for the scan. */
export function captureLogs(): { stream: Writable; text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return { stream, text: () => chunks.join('') };
}

/**
 * Capture the Temporal worker's own logs (the SDK's messages, activity and workflow `log` calls,
 * failures with their messages and stacks) for the scan, at every level, while they still reach
 * the logger installed before (test/harness/setup-file.ts). Workers take the Runtime's logger when
 * they are created: call this before the file creates any worker, and `restore()` in `afterAll`.
 */
export function captureWorkerLogs(): { text(): string; restore(): void } {
  const runtime = Runtime.instance() as { logger: Logger };
  const original = runtime.logger;
  const lines: string[] = [];
  const log = (level: LogLevel, message: string, meta?: LogMetadata): void => {
    lines.push(`${level} ${message} ${inspect(meta ?? {}, { depth: 12, breakLength: Infinity })}`);
    original.log(level, message, meta);
  };
  runtime.logger = {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
  };
  return {
    text: () => lines.join('\n'),
    restore: () => {
      runtime.logger = original;
    },
  };
}

/**
 * Every form a secret may take in stored data: as is, and base64 (standard and URL alphabets) at
 * each of the three byte alignments, so it is found also inside a longer base64 blob.
 */
export function secretForms(secret: string): { form: SecretHit['form']; text: string }[] {
  const forms: { form: SecretHit['form']; text: string }[] = [{ form: 'plain', text: secret }];
  const bytes = Buffer.from(secret, 'utf8');
  for (let shift = 0; shift < 3; shift++) {
    const padded = Buffer.concat([Buffer.alloc(shift), bytes]);
    const b64 = padded.toString('base64');
    // Drop characters that depend on the neighbouring bytes: the leading ones covering the pad
    // and the trailing partial group.
    const start = Math.ceil((shift * 4) / 3);
    const end = Math.floor(((shift + bytes.length) * 4) / 3);
    const core = b64.slice(start, end);
    if (core.length >= 4) {
      forms.push({ form: 'base64', text: core });
      forms.push({ form: 'base64url', text: core.replace(/\+/g, '-').replace(/\//g, '_') });
    }
  }
  return forms;
}

function mask(secret: string): string {
  return `${secret.slice(0, 3)}…(${secret.length} chars)`;
}

function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

function isPayload(value: unknown): value is Payload {
  if (typeof value !== 'object' || value === null) return false;
  const { metadata } = value as Payload;
  return (
    typeof metadata === 'object' &&
    metadata !== null &&
    isBytes((metadata as Record<string, unknown>).encoding) &&
    ((value as Payload).data === undefined ||
      (value as Payload).data === null ||
      isBytes((value as Payload).data))
  );
}

/** Every string and byte string in a proto object tree, bytes as UTF-8 and as base64. */
function texts(root: unknown): string[] {
  const out: string[] = [];
  const seen = new Set<unknown>();
  const visit = (value: unknown): void => {
    if (typeof value === 'string') out.push(value);
    else if (isBytes(value)) {
      const buf = Buffer.from(value);
      out.push(buf.toString('utf8'), buf.toString('base64'));
    } else if (typeof value === 'object' && value !== null && !seen.has(value)) {
      seen.add(value);
      if (Array.isArray(value)) value.forEach(visit);
      else {
        for (const [key, child] of Object.entries(value)) {
          out.push(key);
          visit(child);
        }
      }
    }
  };
  visit(root);
  return out;
}

/** Every payload in a proto object tree. */
function payloadsIn(root: unknown): Payload[] {
  const found: Payload[] = [];
  const seen = new Set<unknown>();
  const visit = (value: unknown): void => {
    if (typeof value !== 'object' || value === null || isBytes(value) || seen.has(value)) return;
    seen.add(value);
    if (isPayload(value)) found.push(value);
    else if (Array.isArray(value)) value.forEach(visit);
    else Object.values(value).forEach(visit);
  };
  visit(root);
  return found;
}

/**
 * Decode with the first codec that can: each of `codecs` stands alone (one per key set), and a
 * codec that does not know the payload's key throws. Plain payloads come back unchanged.
 */
async function decodePayload(codecs: PayloadCodec[], payload: Payload): Promise<Payload> {
  let lastError: unknown;
  for (const codec of codecs) {
    try {
      return (await codec.decode([payload]))[0]!;
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

function search(corpus: string[], secrets: string[], where: string): SecretHit[] {
  const hits: SecretHit[] = [];
  for (const secret of secrets) {
    for (const { form, text } of secretForms(secret)) {
      if (corpus.some((c) => c.includes(text))) {
        hits.push({ secret: mask(secret), form, where });
        break;
      }
    }
  }
  return hits;
}

/** Page through visibility with the raw service (memos stay undecoded). */
async function listExecutions(
  client: Client,
  query: string,
): Promise<{ workflowId: string; runId: string }[]> {
  const out: { workflowId: string; runId: string }[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await client.workflowService.listWorkflowExecutions({
      namespace: client.options.namespace,
      query,
      nextPageToken,
      pageSize: 500,
    });
    for (const e of page.executions ?? []) {
      if (e.execution?.workflowId && e.execution.runId) {
        out.push({ workflowId: e.execution.workflowId, runId: e.execution.runId });
      }
    }
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return out;
}

async function fullHistory(client: Client, workflowId: string, runId: string): Promise<unknown[]> {
  const events: unknown[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await client.workflowService.getWorkflowExecutionHistory({
      namespace: client.options.namespace,
      execution: { workflowId, runId },
      nextPageToken,
    });
    events.push(...(page.history?.events ?? []));
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return events;
}

/** Scan and report every hit (see {@link assertNoSecretsLeaked} for the failing form). */
export async function scanForSecrets(opts: SecretScanOptions): Promise<SecretScanReport> {
  const short = opts.secrets.filter((s) => s.length < 6);
  if (short.length > 0) throw new Error(`secret scan: ${short.length} secret(s) shorter than 6 characters`);
  const codecs = opts.codecs ?? [];
  const report: SecretScanReport = {
    hits: [],
    histories: 0,
    schedules: 0,
    payloads: 0,
    decoded: 0,
    undecodable: 0,
  };

  const scanTree = async (tree: unknown, where: string): Promise<void> => {
    report.hits.push(...search(texts(tree), opts.secrets, `${where} (as stored)`));
    const payloads = payloadsIn(tree);
    report.payloads += payloads.length;
    if (codecs.length === 0) return;
    const decoded: Payload[] = [];
    for (const payload of payloads) {
      try {
        decoded.push(await decodePayload(codecs, payload));
        report.decoded++;
      } catch {
        report.undecodable++;
      }
    }
    report.hits.push(...search(texts(decoded), opts.secrets, `${where} (decoded)`));
  };

  const filters = [opts.since ? `StartTime >= "${opts.since.toISOString()}"` : '', opts.query ?? ''].filter(
    Boolean,
  );
  for (const { workflowId, runId } of await listExecutions(opts.client, filters.join(' AND '))) {
    await scanTree(await fullHistory(opts.client, workflowId, runId), `history of ${workflowId} (${runId})`);
    report.histories++;
  }

  // Schedules carry workflow input (and memo) too.
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await opts.client.workflowService.listSchedules({
      namespace: opts.client.options.namespace,
      nextPageToken,
    });
    for (const entry of page.schedules ?? []) {
      if (!entry.scheduleId) continue;
      const schedule = await opts.client.workflowService
        .describeSchedule({ namespace: opts.client.options.namespace, scheduleId: entry.scheduleId })
        .catch(() => undefined); // deleted between list and describe
      if (!schedule) continue;
      await scanTree(schedule, `schedule ${entry.scheduleId}`);
      report.schedules++;
    }
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);

  (opts.logs ?? []).forEach((log, i) =>
    report.hits.push(...search([log], opts.secrets, `captured log ${i + 1}`)),
  );
  return report;
}

/**
 * Fail when any secret appears in any workflow history or schedule on the server (as stored or
 * decoded) or in the captured logs. The error lists where, with the secrets masked.
 */
export async function assertNoSecretsLeaked(opts: SecretScanOptions): Promise<SecretScanReport> {
  const report = await scanForSecrets(opts);
  if (report.hits.length > 0) {
    throw new Error(
      `secrets leaked (${report.hits.length}):\n${report.hits.map((h) => `  ${h.secret} as ${h.form} in ${h.where}`).join('\n')}`,
    );
  }
  return report;
}
