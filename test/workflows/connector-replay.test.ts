import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { HISTORIES_DIR, loadHistory } from '../../scripts/histories';
import { workflowBundle } from '../harness/temporal';

/**
 * Replays recorded connector histories against today's workflow code, so a change that breaks
 * determinism fails here. Refresh them with
 * `SV0_WRITE_HISTORIES=1 npx vitest run test/workflows/connector-sync.test.ts test/workflows/connector-health.test.ts`.
 */
describe('connector workflows replay', () => {
  it.each([
    ['connector-sync-retried', ['runConnector']],
    ['connector-health-stale', ['connectorScheduleStates', 'lastPlatformSync', 'reapOrphanContainers']],
    ['connector-health-paused', ['pauseConnectorSchedule', 'notify']],
  ])('replays %s without nondeterminism', async (name, activities) => {
    const history = loadHistory(path.join(HISTORIES_DIR, `${name}.json`));
    const types = (history.events ?? [])
      .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
      .filter(Boolean);
    // The recording covers the path it is named for.
    expect(types).toEqual(expect.arrayContaining(activities));
    await expect(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, name),
    ).resolves.toBeUndefined();
  });
});
