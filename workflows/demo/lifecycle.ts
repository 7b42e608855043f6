import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createDemoLifecycleActivities } from '../../activities/demo/lifecycle';
import type { createNotifyActivities } from '../../activities/notify';
import type { Notification } from '../../lib/config/notifications';
import {
  DEMO_ACCOUNT_MEMO,
  DemoSearchAttributes,
  demoStackName,
  destroyNowUpdate,
  extendUpdate,
  shortenUpdate,
  statusQuery,
  warningLeadMs,
  type DemoInput,
  type DemoPhase,
  type DemoStatus,
  type DemoSummary,
} from '../../lib/contracts/demo';
import { formatDuration, parseDuration } from '../../lib/duration';
import { ErrorType, Tags } from '../../lib/names';

const aws = proxyActivities<ReturnType<typeof createDemoLifecycleActivities>>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
/** Stack create and delete waits poll for up to an hour and heartbeat meanwhile. */
const awsLong = proxyActivities<ReturnType<typeof createDemoLifecycleActivities>>({
  startToCloseTimeout: '70 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '2 minutes' },
});
const { notify } = proxyActivities<ReturnType<typeof createNotifyActivities>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '5s', maximumInterval: '1 minute', maximumAttempts: 10 },
});

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * One demo's life (shared/DESIGN.md §3): check the target is a sandbox, create the stack tagged
 * ephemeral, wait for it, report outputs, wait on a durable timer that `extend`/`shorten` move,
 * warn before expiry, then tear down: delete the stack, sweep what still carries the demo's tag,
 * list again, and fail loudly if anything is left. A failed deploy is torn down at once.
 */
export async function demoLifecycleWorkflow(input: DemoInput): Promise<DemoSummary> {
  const startedAt = workflowInfo().startTime.getTime();
  const stackName = demoStackName(input.id);
  const target = input.target;
  const state: DemoStatus = {
    id: input.id,
    scenario: input.scenario.name,
    owner: input.owner,
    accountId: target.accountId,
    phase: 'deploying',
    startedAt: iso(startedAt),
    expiresAt: iso(startedAt + input.ttlMs),
    maxExpiresAt: iso(startedAt + input.scenario.maxTtlMs),
    stackName,
    outputs: {},
    resources: [],
    deleted: [],
    leftovers: [],
  };
  let expiresAt = startedAt + input.ttlMs;
  const maxExpiresAt = startedAt + input.scenario.maxTtlMs;
  /** Bumped whenever the expiry moves, so the timer loop re-arms. */
  let expiryVersion = 0;

  function setPhase(phase: DemoPhase) {
    state.phase = phase;
    upsertSearchAttributes([{ key: DemoSearchAttributes.phase, value: phase }]);
  }
  function setExpiry(ms: number) {
    expiresAt = ms;
    state.expiresAt = iso(ms);
    expiryVersion++;
    upsertSearchAttributes([{ key: DemoSearchAttributes.expiresAt, value: new Date(ms) }]);
  }
  const live = () => state.phase === 'deploying' || state.phase === 'running';

  upsertMemo({ [DEMO_ACCOUNT_MEMO]: target.accountId });
  upsertSearchAttributes([
    { key: DemoSearchAttributes.scenario, value: input.scenario.name },
    { key: DemoSearchAttributes.owner, value: input.owner },
    { key: DemoSearchAttributes.phase, value: 'deploying' },
    { key: DemoSearchAttributes.expiresAt, value: new Date(expiresAt) },
  ]);

  setHandler(statusQuery, () => ({ ...state }));
  setHandler(
    extendUpdate,
    (duration) => {
      setExpiry(expiresAt + parseDuration(duration));
      return state.expiresAt;
    },
    {
      validator: (duration) => {
        if (!live()) throw new Error(`demo ${input.id} is ${state.phase}; it can no longer be extended`);
        const next = expiresAt + parseDuration(duration, 'extend');
        if (next > maxExpiresAt) {
          throw new Error(
            `extend ${duration} would end the demo at ${iso(next)}, past its maximum ${state.maxExpiresAt} ` +
              `(scenario ${input.scenario.name}: ${formatDuration(input.scenario.maxTtlMs)} from the start)`,
          );
        }
      },
    },
  );
  setHandler(
    shortenUpdate,
    (duration) => {
      setExpiry(expiresAt - parseDuration(duration));
      return state.expiresAt;
    },
    {
      validator: (duration) => {
        if (!live()) throw new Error(`demo ${input.id} is ${state.phase}; it can no longer be shortened`);
        const next = expiresAt - parseDuration(duration, 'shorten');
        if (next <= Date.now())
          throw new Error(`shorten ${duration} would end the demo in the past; use destroy instead`);
      },
    },
  );
  setHandler(destroyNowUpdate, (reason) => {
    const phase = state.phase;
    state.destroyReason ??= reason || 'destroyed on request';
    return phase;
  });

  const send = (n: Notification) => notify({ notification: n, sinks: input.notifications });
  const fields = () => ({
    demo: input.id,
    scenario: input.scenario.name,
    owner: input.owner,
    account: target.accountId,
  });

  // 1. Only a sandbox account, checked against the live organization.
  try {
    await aws.checkDemoTarget({ target, org: input.org, managementAccountId: input.managementAccountId });
  } catch (err) {
    setPhase('failed');
    throw err;
  }

  // 2. Deploy, tagged so teardown and the nightly sweep can find every piece.
  let deployError: string | undefined;
  let cancelled: unknown;
  try {
    await aws.createDemoStack({
      target,
      stackName,
      templateBody: input.scenario.templateBody,
      parameters: input.scenario.parameters,
      tags: {
        [Tags.ephemeral]: 'true',
        [Tags.ttl]: formatDuration(input.ttlMs),
        [Tags.demo]: input.id,
        [Tags.owner]: input.owner,
      },
    });
    await awsLong.waitForDemoStackCreated({ target, stackName });
    const described = await aws.describeDemoStack({ target, stackName });
    state.outputs = described.outputs;
    state.resources = described.resources;
  } catch (err) {
    if (!isCancellation(err)) {
      // An activity failure's own message is generic; its cause says what went wrong.
      deployError = err instanceof ActivityFailure && err.cause ? err.cause.message : (err as Error).message;
    } else cancelled = err;
  }

  if (deployError !== undefined) {
    state.error = deployError;
    state.destroyReason = 'deploy failed';
  } else if (cancelled === undefined) {
    try {
      setPhase('running');
      await send({
        event: 'demo.ready',
        severity: 'info',
        title: `Demo ${input.id} is ready`,
        text: `${input.scenario.name} for ${input.owner}, until ${state.expiresAt}`,
        fields: { ...fields(), expiresAt: state.expiresAt, ...state.outputs },
      });
      // 3. Live until expiry (moved by extend/shorten) or destroyNow; warn once before expiry.
      await waitForExpiry();
    } catch (err) {
      if (!isCancellation(err)) throw err;
      cancelled = err;
    }
  }
  if (cancelled !== undefined) state.destroyReason ??= 'workflow cancelled';

  // 4. Teardown, also when the workflow was cancelled: what was created must not outlive it.
  const summary = await CancellationScope.nonCancellable(() => teardown());
  await condition(allHandlersFinished);
  if (deployError !== undefined) {
    throw ApplicationFailure.nonRetryable(
      `demo ${input.id}: deploy failed and was torn down: ${deployError}`,
      ErrorType.StackFailed,
    );
  }
  if (state.leftovers.length > 0) {
    throw ApplicationFailure.nonRetryable(
      `demo ${input.id}: ${state.leftovers.length} resource(s) still tagged ${Tags.demo}=${input.id} after teardown: ` +
        state.leftovers.map((r) => r.arn).join(', '),
      ErrorType.LeftoversRemain,
    );
  }
  if (state.error)
    throw ApplicationFailure.nonRetryable(`demo ${input.id}: ${state.error}`, ErrorType.StackFailed);
  // Torn down clean after a cancel request: end as cancelled, as asked.
  if (cancelled !== undefined) throw cancelled;
  return summary;

  async function waitForExpiry(): Promise<void> {
    const lead = warningLeadMs(input.ttlMs, input.warnBeforeMs);
    let warnedFor: number | undefined;
    while (state.destroyReason === undefined && Date.now() < expiresAt) {
      const version = expiryVersion;
      const warnAt = expiresAt - lead;
      if (warnedFor !== expiresAt && Date.now() >= warnAt) {
        warnedFor = expiresAt;
        await send({
          event: 'demo.expiring',
          severity: 'warning',
          title: `Demo ${input.id} expires at ${state.expiresAt}`,
          text: `Extend it with \`sv0 demo extend ${input.id} 1h\` (at most until ${state.maxExpiresAt}).`,
          fields: { ...fields(), expiresAt: state.expiresAt },
        });
        continue;
      }
      const until = warnedFor === expiresAt ? expiresAt : warnAt;
      await condition(
        () => state.destroyReason !== undefined || expiryVersion !== version,
        Math.max(until - Date.now(), 1),
      );
    }
  }

  async function teardown(): Promise<DemoSummary> {
    setPhase('destroying');
    log.info('demo teardown', { demo: input.id, reason: state.destroyReason ?? 'expired' });
    const problems: string[] = [];
    const deleted = await awsLong.deleteDemoStack({ target, stackName });
    if (deleted.error) problems.push(deleted.error);
    const swept = await awsLong.sweepDemoResources({ target, demoId: input.id });
    state.deleted = swept.deleted;
    problems.push(...swept.failed.map((f) => `${f.arn}: ${f.error}`));
    state.leftovers = await aws.listDemoResources({ target, demoId: input.id });
    const clean = state.leftovers.length === 0 && !deleted.error;
    if (!clean && !state.error) state.error = problems.join('; ') || 'resources remain';
    setPhase(clean && deployError === undefined ? 'destroyed' : 'failed');
    const livedMs = Date.now() - startedAt;
    await send({
      event: clean ? 'demo.destroyed' : 'demo.leftovers',
      severity: clean ? (deployError ? 'warning' : 'info') : 'critical',
      title: clean
        ? `Demo ${input.id} ${deployError ? 'failed to deploy and was torn down' : 'destroyed'}`
        : `Demo ${input.id}: ${state.leftovers.length} resource(s) left after teardown`,
      text: [
        `Reason: ${state.destroyReason ?? 'expired'}. Lived ${formatDuration(Math.round(livedMs / 1000) * 1000)}.`,
        `Created: ${state.resources.map((r) => r.type).join(', ') || 'nothing'}.`,
        `Swept after the stack: ${state.deleted.map((r) => r.arn).join(', ') || 'nothing'}.`,
        ...(deployError ? [`Deploy error: ${deployError}`] : []),
        ...(problems.length ? [`Problems: ${problems.join('; ')}`] : []),
        ...(state.leftovers.length ? [`Still there: ${state.leftovers.map((r) => r.arn).join(', ')}`] : []),
      ].join('\n'),
      fields: {
        ...fields(),
        created: state.resources.length,
        swept: state.deleted.length,
        leftovers: state.leftovers.length,
      },
    });
    return { ...state, livedMs };
  }
}
