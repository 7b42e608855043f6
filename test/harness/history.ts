import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { temporal } from '@temporalio/proto';
import { stack } from './stack';

export type History = temporal.api.history.v1.IHistory;

export const HISTORIES_DIR = path.resolve(__dirname, '..', 'histories');

/**
 * Parse a `temporal workflow show --output json` history with the proto package's own protobufjs
 * (see test/workflows/budget-replay.test.ts for why not the SDK's historyFromJSON here).
 */
export function loadHistory(file: string): History {
  const protoDir = path.dirname(require.resolve('@temporalio/proto/package.json'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { fromJson } = require(require.resolve('protobufjs/ext/protojson', { paths: [protoDir] })) as {
    fromJson: (type: unknown, json: unknown, opts: object) => History;
  };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const root = require('@temporalio/proto') as { lookupType(name: string): unknown };
  return fromJson(
    root.lookupType('temporal.api.history.v1.History'),
    JSON.parse(readFileSync(file, 'utf8')),
    { ignoreUnknownFields: true },
  );
}

/**
 * When SV0_WRITE_HISTORIES=1, save a workflow's history (latest run) under test/histories/ for the
 * replay tests, with the real Temporal CLI.
 */
export function recordHistory(workflowId: string, name: string, namespace = stack().namespace): void {
  if (process.env.SV0_WRITE_HISTORIES !== '1') return;
  const show = spawnSync(
    stack().tools.temporalCli,
    [
      'workflow',
      'show',
      '--output',
      'json',
      '--address',
      stack().temporalAddress,
      '--namespace',
      namespace,
      '-w',
      workflowId,
    ],
    { encoding: 'utf8' },
  );
  if (show.status !== 0) throw new Error(`temporal workflow show failed: ${show.stderr}`);
  writeFileSync(path.join(HISTORIES_DIR, `${name}.json`), show.stdout);
}
