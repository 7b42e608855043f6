import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { workflowBundle } from '../harness/temporal';

type History = temporal.api.history.v1.IHistory;

/**
 * Parse a `temporal workflow show --output json` history. Not with the SDK's historyFromJSON:
 * npm installs three copies of protobufjs 8 here (under @temporalio/proto, /common and /worker,
 * since @grpc/proto-loader keeps protobufjs 7 at the top), and historyFromJSON hands the proto
 * package's types to the common package's copy, which rejects them ("type must be a Type").
 * Using the proto package's own copy for both avoids that.
 */
function loadHistory(file: string): History {
  const protoDir = path.dirname(require.resolve('@temporalio/proto/package.json'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { fromJson } = require(require.resolve('protobufjs/ext/protojson', { paths: [protoDir] })) as {
    fromJson: (type: unknown, json: unknown, opts: object) => History;
  };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const root = require('@temporalio/proto') as { lookupType(name: string): unknown };
  const historyType = root.lookupType('temporal.api.history.v1.History');
  return fromJson(historyType, JSON.parse(readFileSync(file, 'utf8')), { ignoreUnknownFields: true });
}

/**
 * Replays a recorded budget guard history (freeze after a demo teardown, unfreeze by update,
 * refreeze on rising spend, unfreeze by the CLI) against today's workflow code, so a change that
 * breaks determinism fails here. Refresh it with
 * `SV0_WRITE_HISTORIES=1 npx vitest run test/workflows/budget-guard.test.ts`.
 */
describe('budget guard replay', () => {
  it('replays the recorded freeze/unfreeze history without nondeterminism', async () => {
    const file = path.resolve(__dirname, '../histories/budget-guard-freeze.json');
    const history = loadHistory(file);
    const types = (history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
    // The recording really covers the freeze path.
    expect(types).toEqual(expect.arrayContaining(['destroyDemosInAccount', 'waitForDemosClosed', 'attachFreezePolicy', 'detachFreezePolicy']));
    await expect(Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, 'budget-guard-freeze')).resolves.toBeUndefined();
  });
});
