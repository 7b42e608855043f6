import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { createDemoSweepActivities } from '../../activities/demo/sweep';
import type { createDemoControlActivities } from '../../activities/demo/control';
import type { createNotifyActivities } from '../../activities/notify';
import type { AccountSweepResult, DemoSweepInput, DemoSweepResult } from '../../lib/contracts/demo';
import { sweepSummary } from '../../lib/demo-messages';
import { checkSandboxTarget } from '../../lib/sandbox';
import { ErrorType } from '../../lib/names';

const aws = proxyActivities<ReturnType<typeof createDemoSweepActivities>>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 5 },
});
/** Deleting stacks waits for each to be gone: long, heartbeating. */
const awsLong = proxyActivities<ReturnType<typeof createDemoSweepActivities>>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 5 },
});
const control = proxyActivities<ReturnType<typeof createDemoControlActivities>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2s', maximumAttempts: 5 },
});
const { notify } = proxyActivities<ReturnType<typeof createNotifyActivities>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '5s', maximumInterval: '1 minute', maximumAttempts: 10 },
});

/**
 * The nightly sweep (a cloud-nuke-like job): in each sandbox account, in every region the worker's
 * org.yaml's RegionLock allows, delete ephemeral-tagged resources older than 12 h (or past their
 * sv0:ttl) that no running demo owns: stacks first, then what is left. Ages and regions are the
 * worker's (its clock, its org.yaml); the input's regions are checked against them. Refused
 * accounts and failed deletions are reported and fail the run after every other account was swept.
 */
export async function demoSweepWorkflow(input: DemoSweepInput): Promise<DemoSweepResult> {
  const maxAgeMs = input.maxAgeMs ?? 12 * 3_600_000;
  const results: AccountSweepResult[] = [];
  for (const target of input.accounts) {
    const result: AccountSweepResult = {
      accountId: target.accountId,
      accountName: target.accountName,
      deleted: [],
      failed: [],
    };
    results.push(result);
    // The activity checks again against the live org and the account's aliases.
    const check = checkSandboxTarget({
      ...target,
      org: input.org,
      managementAccountId: input.managementAccountId,
    });
    if (!check.ok) {
      result.refused = check.reason;
      continue;
    }
    const runningDemoIds =
      input.runningDemoIds ??
      (await control.listRunningDemos({ accountId: target.accountId })).map((d) => d.demoId);
    const common = {
      target,
      org: input.org,
      managementAccountId: input.managementAccountId,
      runningDemoIds,
      maxAgeMs,
      ...(input.regions ? { regions: input.regions } : {}),
    };
    try {
      result.plan = await aws.planAccountSweep({ ...common, markFirstSeen: input.apply });
    } catch (err) {
      // Report the activity's own reason (the live sandbox check, or why the account was unreachable).
      const cause = err instanceof ActivityFailure ? err.cause : undefined;
      const message = cause?.message ?? (err as Error).message;
      if (cause instanceof ApplicationFailure && cause.type === ErrorType.SandboxRefused)
        result.refused = message;
      else result.error = message;
      continue;
    }
    if (!input.apply) continue;
    for (const step of ['stacks', 'resources'] as const) {
      const approved = result.plan[step].map((i) => i.arn);
      if (approved.length === 0) continue;
      const out = await awsLong.applyAccountSweep({ ...common, step, approved });
      result.deleted.push(...out.deleted);
      result.failed.push(...out.failed);
    }
  }

  await notify({ notification: sweepSummary(input.apply, results), sinks: input.notifications });
  const refused = results.filter((r) => r.refused);
  if (refused.length > 0) {
    throw ApplicationFailure.nonRetryable(
      `sweep refused: ${refused.map((r) => r.refused).join('; ')}`,
      ErrorType.SandboxRefused,
    );
  }
  const errors = results.filter((r) => r.error);
  if (errors.length > 0) {
    throw ApplicationFailure.nonRetryable(
      `sweep failed: ${errors.map((r) => `${r.accountName} (${r.accountId}): ${r.error}`).join('; ')}`,
    );
  }
  const failed = results.flatMap((r) => r.failed);
  if (failed.length > 0) {
    throw ApplicationFailure.nonRetryable(
      `sweep could not delete ${failed.length} resource(s): ${failed.map((f) => `${f.arn} (${f.error})`).join('; ')}`,
      ErrorType.LeftoversRemain,
    );
  }
  return { apply: input.apply, accounts: results };
}
