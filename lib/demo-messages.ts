/**
 * What demos and the nightly sweep tell people: their notifications, the reasons an update is
 * refused, the failure texts, and a demo's first status. Pure, so the workflows read like the
 * runbook and the texts are tested without a server.
 */
import type { Notification } from './config/notifications';
import type { AccountSweepResult, DemoCost, DemoInput, DemoStatus } from './contracts/demo';
import { formatDuration } from './duration';
import { Tags } from './names';

const iso = (ms: number) => new Date(ms).toISOString();

/** A demo's status when its workflow starts: deploying, with its expiry and maximum from the start. */
export function initialDemoStatus(input: DemoInput, startedAt: number, stackName: string): DemoStatus {
  return {
    id: input.id,
    scenario: input.scenario.name,
    owner: input.owner,
    accountId: input.target.accountId,
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
}

/** The fields every notification of a demo carries. */
function demoFields(input: DemoInput) {
  return {
    demo: input.id,
    scenario: input.scenario.name,
    owner: input.owner,
    account: input.target.accountId,
  };
}

/** Why `extend` or `shorten` is refused: the validators' messages, which the CLI shows as they are. */
export const expiryRefusals = {
  notLive: (id: string, phase: string, verb: 'extended' | 'shortened') =>
    `demo ${id} is ${phase}; it can no longer be ${verb}`,
  pastMaximum: (input: DemoInput, duration: string, next: number, maxExpiresAt: string) =>
    `extend ${duration} would end the demo at ${iso(next)}, past its maximum ${maxExpiresAt} ` +
    `(scenario ${input.scenario.name}: ${formatDuration(input.scenario.maxTtlMs)} from the start)`,
  inThePast: (duration: string) => `shorten ${duration} would end the demo in the past; use destroy instead`,
};

/** Why a demo's workflow fails at the end. */
export const demoFailures = {
  deployFailed: (id: string, deployError: string) =>
    `demo ${id}: deploy failed and was torn down: ${deployError}`,
  leftovers: (id: string, leftovers: readonly { arn: string }[]) =>
    `demo ${id}: ${leftovers.length} resource(s) still tagged ${Tags.demo}=${id} after teardown: ` +
    leftovers.map((r) => r.arn).join(', '),
  error: (id: string, error: string) => `demo ${id}: ${error}`,
};

/** A demo's notifications. */
export const demoNotices = {
  ready(input: DemoInput, state: DemoStatus): Notification {
    return {
      event: 'demo.ready',
      severity: 'info',
      title: `Demo ${input.id} is ready`,
      text: `${input.scenario.name} for ${input.owner}, until ${state.expiresAt}`,
      fields: { ...demoFields(input), expiresAt: state.expiresAt, ...state.outputs },
    };
  },

  expiring(input: DemoInput, state: DemoStatus): Notification {
    return {
      event: 'demo.expiring',
      severity: 'warning',
      title: `Demo ${input.id} expires at ${state.expiresAt}`,
      text: `Extend it with \`sv0 demo extend ${input.id} 1h\` (at most until ${state.maxExpiresAt}).`,
      fields: { ...demoFields(input), expiresAt: state.expiresAt },
    };
  },

  /** The summary after teardown: destroyed, or what is left and why. */
  tornDown(
    input: DemoInput,
    state: DemoStatus,
    outcome: { clean: boolean; deployError?: string; problems: readonly string[]; livedMs: number },
  ): Notification {
    const { clean, deployError, problems, livedMs } = outcome;
    return {
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
        ...(state.cost ? [`Cost so far: ${costText(state.cost)}`] : []),
      ].join('\n'),
      fields: {
        ...demoFields(input),
        created: state.resources.length,
        swept: state.deleted.length,
        leftovers: state.leftovers.length,
        ...(state.cost
          ? { cost: 'amount' in state.cost ? `$${state.cost.amount.toFixed(2)} (delayed)` : 'unavailable' }
          : {}),
      },
    };
  },
};

/**
 * A demo's cost for people, always marked delayed: "$1.24 from 2026-12-06 through 2026-12-07
 * (delayed: Cost Explorer's data lags about a day, so this is a lower bound)".
 */
export function costText(cost: DemoCost): string {
  if ('unavailable' in cost) return `unavailable (${cost.unavailable})`;
  return `$${cost.amount.toFixed(2)} from ${cost.from} through ${cost.through} (delayed: Cost Explorer's data lags about a day, so this is a lower bound; filter Cost Explorer by tag sv0:demo=<id> tomorrow for the full figure)`;
}

/** The nightly sweep's summary: per account what was deleted, kept, refused or failed. */
export function sweepSummary(apply: boolean, results: readonly AccountSweepResult[]): Notification {
  const lines = results.map((r) => {
    if (r.refused) return `${r.accountName} (${r.accountId}): refused: ${r.refused}`;
    if (r.error) return `${r.accountName} (${r.accountId}): failed: ${r.error}`;
    const planned = (r.plan?.stacks.length ?? 0) + (r.plan?.resources.length ?? 0);
    const unreadable = r.plan?.unreadable ?? [];
    const untagged = r.plan?.untagged ?? [];
    const head = apply
      ? `${r.accountName} (${r.accountId}): deleted ${r.deleted.length}, failed ${r.failed.length}, kept ${r.plan?.kept.length ?? 0}`
      : `${r.accountName} (${r.accountId}): would delete ${planned}, keep ${r.plan?.kept.length ?? 0}`;
    return [
      `${head}${unreadable.length ? `, could not read ${unreadable.length}` : ''}${untagged.length ? `, untagged ${untagged.length}` : ''}`,
      ...unreadable.map((u) => `  could not read ${u.arn}: ${u.error}`),
      ...untagged.map((u) => `  untagged ${u.arn}: ${u.reason}`),
      ...r.failed.map((f) => `  could not delete ${f.arn}: ${f.error}`),
    ].join('\n');
  });
  const bad = results.some(
    (r) => r.refused || r.error || r.failed.length > 0 || (r.plan?.unreadable?.length ?? 0) > 0,
  );
  return {
    event: 'demo.sweep',
    severity: bad ? 'critical' : 'info',
    title: `Nightly demo sweep${apply ? '' : ' (dry run)'}: ${results.reduce((n, r) => n + r.deleted.length, 0)} deleted`,
    text: lines.join('\n'),
    fields: { accounts: results.length, apply },
  };
}
