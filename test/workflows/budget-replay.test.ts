import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { HISTORIES_DIR, loadHistory } from '../../scripts/histories';
import { workflowBundle } from '../harness/temporal';

/**
 * Replays a recorded budget guard history (freeze after a demo teardown, unfreeze by update,
 * refreeze on rising spend, unfreeze by the CLI) against today's workflow code, so a change that
 * breaks determinism fails here. Refresh it with
 * `SV0_WRITE_HISTORIES=1 npx vitest run test/workflows/budget-guard.test.ts`.
 */
describe('budget guard replay', () => {
  it('replays the recorded freeze/unfreeze history without nondeterminism', async () => {
    const history = loadHistory(path.join(HISTORIES_DIR, 'budget-guard-freeze.json'));
    const types = (history.events ?? [])
      .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
      .filter(Boolean);
    // The recording really covers the freeze path.
    expect(types).toEqual(
      expect.arrayContaining([
        'destroyDemosInAccount',
        'waitForDemosClosed',
        'attachFreezePolicy',
        'detachFreezePolicy',
      ]),
    );
    await expect(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, 'budget-guard-freeze'),
    ).resolves.toBeUndefined();
  });
});
