import path from 'node:path';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { describe, expect, it } from 'vitest';
import { historyFiles, loadHistory } from '../scripts/histories';
import { workflowBundle } from './harness/temporal';

/**
 * Replay safety: every history under test/histories/ (captured from real runs, see
 * CONTRIBUTING.md) must replay against today's workflow code. A change that would break running
 * workflows fails here instead of in production.
 */
describe('replay of the recorded histories', () => {
  const files = historyFiles();

  it('has the recorded histories to replay', () => {
    expect(files.map((f) => f.name)).toContain('smoke');
  });

  it('replays every history in test/histories/ against the current workflow bundle', async () => {
    const histories = files.map(({ name, file }) => ({ workflowId: name, history: loadHistory(file) }));
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories(
      { workflowBundle: await workflowBundle() },
      histories,
    )) {
      replayed++;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.name}: ${result.error.message}`);
    }
    expect(replayed).toBe(files.length);
    expect(failures).toEqual([]);
  });

  it('catches a deliberate determinism break (activities reordered in the smoke workflow)', async () => {
    const broken = await bundleWorkflowCode({
      workflowsPath: path.resolve(__dirname, 'fixtures/replay-break/index.ts'),
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
    });
    const smoke = files.find((f) => f.name === 'smoke');
    if (!smoke) throw new Error('test/histories/smoke.json is missing: see CONTRIBUTING.md to capture it');
    await expect(
      Worker.runReplayHistory({ workflowBundle: broken }, loadHistory(smoke.file), 'smoke'),
    ).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});
