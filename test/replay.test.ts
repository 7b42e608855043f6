import path from 'node:path';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { describe, expect, it } from 'vitest';
import { WorkflowTypes } from '../lib/names';
import { historyFiles, loadHistory, type History } from '../scripts/histories';
import { workflowBundle } from './harness/temporal';

/**
 * Replay safety: every history under test/histories/ (captured from real runs, see
 * CONTRIBUTING.md) must replay against today's workflow code, and every workflow type has at
 * least one. A change that would break running workflows fails here instead of in production.
 *
 * The table names, for each history, activities its recording must contain, so that it keeps
 * covering the path it is named for when it is captured again.
 */
const COVERS: Record<string, string[]> = {
  'budget-guard-freeze': [
    'destroyDemosInAccount',
    'waitForDemosClosed',
    'attachFreezePolicy',
    'detachFreezePolicy',
  ],
  // A reconfigure that would move the guard's account or add a freeze, refused behind its patch.
  'budget-guard-reconfigure-refused': ['readBudgetSpend', 'notify'],
  'budget-guard-backstop': ['destroyDemosInAccount', 'attachFreezePolicy', 'detachFreezePolicy'],
  'connector-sync-retried': ['runConnector'],
  // A run with dependents: tells connector-after.<name> (behind patched('connector-after')).
  'connector-sync-after': ['runConnector'],
  // Starts the dependent's run as a child once its upstream has succeeded: recorded before reports
  // were checked, so every report counted as it came (no activity).
  'connector-after-run': [],
  // The same, with each report checked against the run it names (behind patched('connector-after-verify')).
  'connector-after-verified': ['verifyUpstreamRun'],
  'connector-health-stale': ['connectorScheduleStates', 'lastPlatformSync', 'reapOrphanContainers'],
  'connector-health-paused': ['pauseConnectorSchedule', 'notify'],
  // Demos started before the worker resolved scenarios itself (their input carries the template).
  'demo-lifecycle-expired': ['createDemoStack', 'deleteDemoStack', 'sweepDemoResources'],
  'demo-lifecycle-extend-destroy': ['createDemoStack', 'deleteDemoStack'],
  // Demos of today: the input names the scenario, the worker synthesizes and deploys it.
  'demo-lifecycle-app-expired': ['deployDemoScenario', 'deleteDemoStack', 'sweepDemoResources'],
  'demo-lifecycle-app-extend-destroy': ['deployDemoScenario', 'deleteDemoStack'],
  // Demos that read their cost at the end (behind patched('demo-cost-in-summary')).
  'demo-lifecycle-cost': ['deployDemoScenario', 'deleteDemoStack', 'readDemoCost'],
  'demo-sweep-apply': ['planAccountSweep', 'applyAccountSweep', 'notify'],
  'org-bootstrap-seed': ['orgReadOrganization', 'orgCreateOrganization', 'orgCreateAccount'],
  'org-bootstrap-worker-restart': ['orgCreateAccount'],
  'org-bootstrap-backstop': [
    'orgReadBackstop',
    'orgEnsureAlertsTopic',
    'orgEnsureFreezeRole',
    'orgEnsureFreezeAction',
  ],
  'org-bootstrap-tag-policy': ['orgEnableTagPolicyType', 'orgPutTagPolicy', 'orgAttachTagPolicy'],
  'org-drift': ['orgReadOrganization', 'notify'],
  smoke: ['whoAmI', 'runContainer'],
};

const workflowTypeOf = (h: History) =>
  h.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? undefined;
const activityTypesOf = (h: History) =>
  (h.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);

describe('replay of the recorded histories', () => {
  const files = historyFiles();
  const histories = files.map(({ name, file }) => ({ name, history: loadHistory(file) }));

  it('has a history for every workflow type, and each is in the table', () => {
    const types = new Set(histories.map(({ history }) => workflowTypeOf(history)));
    expect([...types].sort()).toEqual(Object.values(WorkflowTypes).sort());
    expect(histories.map((h) => h.name).sort()).toEqual(Object.keys(COVERS).sort());
  });

  it.each(Object.entries(COVERS))('%s covers the path it is named for', (name, activities) => {
    const recorded = histories.find((h) => h.name === name);
    expect(recorded, `test/histories/${name}.json`).toBeDefined();
    expect(activityTypesOf(recorded!.history)).toEqual(expect.arrayContaining(activities));
  });

  it('replays every history in test/histories/ against the current workflow bundle', async () => {
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories(
      { workflowBundle: await workflowBundle() },
      histories.map(({ name, history }) => ({ workflowId: name, history })),
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
