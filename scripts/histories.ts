/**
 * Workflow histories kept under test/histories/ for replay (test/replay.test.ts): reading them,
 * writing them in the JSON form the Temporal CLI and Web UI export (`temporal workflow show
 * --output json`), and fetching them from a server (scripts/capture-histories.ts). Free of
 * vitest; tests record their runs with test/harness/record-history.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

export type History = temporal.api.history.v1.IHistory;

/** Where the replayed histories live. */
export const HISTORIES_DIR = path.resolve(__dirname, '..', 'test', 'histories');

interface ProtoJson {
  fromJson: (type: unknown, json: unknown, opts: object) => History;
  toJson: (type: unknown, message: unknown, opts?: object) => unknown;
}

/**
 * protobufjs's proto-JSON helpers and the History type, both from the copy of protobufjs that
 * @temporalio/proto uses. Not the SDK's historyFromJSON/historyToJSON: npm installs several
 * copies of protobufjs here, and those helpers hand the proto package's types to another copy,
 * which rejects them ("type must be a Type").
 */
function protoJson(): { json: ProtoJson; historyType: { fromObject(o: unknown): unknown } } {
  const protoDir = path.dirname(require.resolve('@temporalio/proto/package.json'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const json = require(require.resolve('protobufjs/ext/protojson', { paths: [protoDir] })) as ProtoJson;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const root = require('@temporalio/proto') as {
    lookupType(name: string): { fromObject(o: unknown): unknown };
  };
  return { json, historyType: root.lookupType('temporal.api.history.v1.History') };
}

/** Parse a history file in the CLI's JSON form. */
export function loadHistory(file: string): History {
  const { json, historyType } = protoJson();
  return json.fromJson(historyType, JSON.parse(readFileSync(file, 'utf8')), { ignoreUnknownFields: true });
}

/** Serialize a history to the CLI's JSON form (enums as names, bytes as base64), pretty-printed. */
export function historyToJsonText(history: History): string {
  const { json, historyType } = protoJson();
  return `${JSON.stringify(json.toJson(historyType, historyType.fromObject(history)), null, 2)}\n`;
}

/** Every history file under `dir`, with the name replay reports use (the file name). */
export function historyFiles(dir = HISTORIES_DIR): { name: string; file: string }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ name: f.replace(/\.json$/, ''), file: path.join(dir, f) }));
}

/**
 * Fetch a closed workflow's full history with a client that has no codec. Refuses an encrypted
 * history: replay in CI has no keys, so capture from a server that runs without
 * SV0_CODEC_KEY_FILE.
 */
export async function fetchHistoryForReplay(
  client: Client,
  workflowId: string,
  runId?: string,
): Promise<History> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const events = history.events ?? [];
  const started = events[0]?.workflowExecutionStartedEventAttributes;
  const encoding = started?.input?.payloads?.[0]?.metadata?.encoding;
  if (encoding && Buffer.from(encoding).toString() === 'binary/encrypted') {
    throw new Error(
      `${workflowId}: its payloads are encrypted; capture histories from a server run without SV0_CODEC_KEY_FILE`,
    );
  }
  const last = events.at(-1);
  const closed =
    last?.workflowExecutionCompletedEventAttributes ??
    last?.workflowExecutionFailedEventAttributes ??
    last?.workflowExecutionContinuedAsNewEventAttributes ??
    last?.workflowExecutionTerminatedEventAttributes ??
    last?.workflowExecutionCanceledEventAttributes ??
    last?.workflowExecutionTimedOutEventAttributes;
  if (!closed)
    throw new Error(`${workflowId}: still running; capture a closed run so the history is complete`);
  return history;
}
