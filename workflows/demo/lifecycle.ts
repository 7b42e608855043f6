import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createDemoCostActivities } from '../../activities/demo/cost';
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
  type DemoCost,
  type DemoInput,
  type DemoPhase,
  type DemoStatus,
  type DemoSummary,
} from '../../lib/contracts/demo';
import { demoFailures, demoNotices, expiryRefusals, initialDemoStatus } from '../../lib/demo-messages';
import { formatDuration, parseDuration } from '../../lib/duration';
import { failureReason, rootCauseMessage } from '../../lib/failures';
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
/**
 * Teardown is bounded: a step AWS keeps refusing (about half a minute of attempts) ends the demo
 * `failed` with a critical notification naming what is left, instead of retrying in `destroying`
 * forever. The nightly sweep and a person take it from there.
 */
const teardownRetry = {
  initialInterval: '2s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  maximumAttempts: 5,
};
const teardownAws = proxyActivities<ReturnType<typeof createDemoLifecycleActivities>>({
  startToCloseTimeout: '5 minutes',
  retry: teardownRetry,
});
const teardownLong = proxyActivities<ReturnType<typeof createDemoLifecycleActivities>>({
  startToCloseTimeout: '70 minutes',
  heartbeatTimeout: '1 minute',
  retry: teardownRetry,
});
const { notify } = proxyActivities<ReturnType<typeof createNotifyActivities>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '5s', maximumInterval: '1 minute', maximumAttempts: 10 },
});

const iso = (ms: number) => new Date(ms).toISOString();

/** Cost Explorer reads are cheap to give up on: a few tries, then the summary says it is unavailable. */
const costs = proxyActivities<ReturnType<typeof createDemoCostActivities>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 3 },
});

/** Demos that ended before this change have no cost in their summary (and made no Cost Explorer call). */
const DEMO_COST = 'demo-cost-in-summary';

/** Demos that began before this change kept the template in their input and deploy it as given. */
const SCENARIO_FROM_WORKER_CONFIG = 'demo-scenario-from-worker-config';

/**
 * One demo's life: check the target is a sandbox, create the stack tagged
 * ephemeral, wait for it, report outputs, wait on a durable timer that `extend`/`shorten` move,
 * warn before expiry, then tear down: delete the stack, sweep what still carries the demo's tag,
 * list again, and fail loudly if anything is left. A failed deploy is torn down at once.
 */
export async function demoLifecycleWorkflow(input: DemoInput): Promise<DemoSummary> {
  const startedAt = workflowInfo().startTime.getTime();
  const stackName = demoStackName(input.id);
  const target = input.target;
  const state: DemoStatus = initialDemoStatus(input, startedAt, stackName);
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
        if (!live()) throw new Error(expiryRefusals.notLive(input.id, state.phase, 'extended'));
        const next = expiresAt + parseDuration(duration, 'extend');
        if (next > maxExpiresAt)
          throw new Error(expiryRefusals.pastMaximum(input, duration, next, state.maxExpiresAt));
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
        if (!live()) throw new Error(expiryRefusals.notLive(input.id, state.phase, 'shortened'));
        const next = expiresAt - parseDuration(duration, 'shorten');
        if (next <= Date.now()) throw new Error(expiryRefusals.inThePast(duration));
      },
    },
  );
  setHandler(destroyNowUpdate, (reason) => {
    const phase = state.phase;
    state.destroyReason ??= reason || 'destroyed on request';
    return phase;
  });

  const send = (n: Notification) => notify({ notification: n, sinks: input.notifications });

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
    const tags = {
      [Tags.ephemeral]: 'true',
      [Tags.ttl]: formatDuration(input.ttlMs),
      [Tags.demo]: input.id,
      [Tags.owner]: input.owner,
    };
    if (patched(SCENARIO_FROM_WORKER_CONFIG) || input.scenario.templateBody === undefined) {
      // The worker resolves the scenario from its own config: template, or app synthesized there.
      await aws.deployDemoScenario({
        target,
        stackName,
        demoId: input.id,
        scenario: input.scenario.name,
        tags,
      });
    } else {
      await aws.createDemoStack({
        target,
        stackName,
        templateBody: input.scenario.templateBody,
        parameters: input.scenario.parameters ?? {},
        tags,
      });
    }
    await awsLong.waitForDemoStackCreated({ target, stackName });
    const described = await aws.describeDemoStack({ target, stackName });
    state.outputs = described.outputs;
    state.resources = described.resources;
  } catch (err) {
    if (!isCancellation(err)) {
      // An activity failure's own message is generic; its cause says what went wrong.
      deployError = rootCauseMessage(err);
    } else cancelled = err;
  }

  if (deployError !== undefined) {
    state.error = deployError;
    state.destroyReason = 'deploy failed';
  } else if (cancelled === undefined) {
    try {
      setPhase('running');
      await send(demoNotices.ready(input, state));
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
      demoFailures.deployFailed(input.id, deployError),
      ErrorType.StackFailed,
    );
  }
  if (state.leftovers.length > 0) {
    throw ApplicationFailure.nonRetryable(
      demoFailures.leftovers(input.id, state.leftovers),
      ErrorType.LeftoversRemain,
    );
  }
  if (state.error)
    throw ApplicationFailure.nonRetryable(demoFailures.error(input.id, state.error), ErrorType.StackFailed);
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
        await send(demoNotices.expiring(input, state));
        continue;
      }
      const until = warnedFor === expiresAt ? expiresAt : warnAt;
      await condition(
        () => state.destroyReason !== undefined || expiryVersion !== version,
        Math.max(until - Date.now(), 1),
      );
    }
  }

  /** What the demo cost so far (delayed: billing data lags); a read that fails is said, not thrown. */
  async function costSoFar(): Promise<DemoCost> {
    try {
      return await costs.readDemoCost({
        demoId: input.id,
        accountId: target.accountId,
        startedAt: iso(startedAt),
      });
    } catch (err) {
      return { unavailable: rootCauseMessage(err) };
    }
  }

  async function teardown(): Promise<DemoSummary> {
    setPhase('destroying');
    log.info('demo teardown', { demo: input.id, reason: state.destroyReason ?? 'expired' });
    const problems: string[] = [];
    /** One teardown step; after its last attempt its failure is a problem, and teardown goes on. */
    const step = async <T>(what: string, run: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await run();
      } catch (err) {
        problems.push(`${what} gave up: ${failureReason(err)}`);
        return undefined;
      }
    };
    const deleted = await step(`delete stack ${stackName}`, () =>
      teardownLong.deleteDemoStack({ target, stackName }),
    );
    if (deleted?.error) problems.push(deleted.error);
    const swept = await step('sweep of the demo tag', () =>
      teardownLong.sweepDemoResources({ target, demoId: input.id }),
    );
    state.deleted = swept?.deleted ?? [];
    problems.push(...(swept?.failed ?? []).map((f) => `${f.arn}: ${f.error}`));
    const left = await step('listing of what is left', () =>
      teardownAws.listDemoResources({ target, demoId: input.id }),
    );
    // Not listed: the stack (and what it made) may still be there.
    state.leftovers = left ?? [{ arn: `stack ${stackName} (not listed)`, type: 'cloudformation:stack' }];
    const clean = left !== undefined && left.length === 0 && deleted !== undefined && !deleted.error;
    if (!clean && !state.error) state.error = problems.join('; ') || 'resources remain';
    setPhase(clean && deployError === undefined ? 'destroyed' : 'failed');
    if (patched(DEMO_COST)) state.cost = await costSoFar();
    const livedMs = Date.now() - startedAt;
    await send(demoNotices.tornDown(input, state, { clean, deployError, problems, livedMs }));
    return { ...state, livedMs };
  }
}
