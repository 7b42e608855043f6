import { describe, expect, it } from 'vitest';
import type { AccountSweepResult, DemoInput } from '../../lib/contracts/demo';
import {
  demoFailures,
  demoNotices,
  expiryRefusals,
  initialDemoStatus,
  sweepSummary,
} from '../../lib/demo-messages';

const input: DemoInput = {
  id: 'acme-1',
  scenario: { name: 'cross-account-trust', templateBody: '{}', parameters: {}, maxTtlMs: 24 * 3_600_000 },
  owner: 'ana',
  ttlMs: 4 * 3_600_000,
  target: { accountId: '210987654321', accountName: 'sv0-demo', roleName: 'sv0-orchestrator-deploy' },
  managementAccountId: '123456789012',
  org: { accounts: [{ name: 'sv0-demo', sandbox: true }] },
  notifications: [{ type: 'log' }],
};
const startedAt = Date.parse('2026-11-29T10:00:00.000Z');

describe('demo messages', () => {
  it('starts a demo deploying, with its expiry and its maximum counted from the start', () => {
    expect(initialDemoStatus(input, startedAt, 'sv0-demo-acme-1')).toEqual({
      id: 'acme-1',
      scenario: 'cross-account-trust',
      owner: 'ana',
      accountId: '210987654321',
      phase: 'deploying',
      startedAt: '2026-11-29T10:00:00.000Z',
      expiresAt: '2026-11-29T14:00:00.000Z',
      maxExpiresAt: '2026-11-30T10:00:00.000Z',
      stackName: 'sv0-demo-acme-1',
      outputs: {},
      resources: [],
      deleted: [],
      leftovers: [],
    });
  });

  it('tells the owner when the demo is ready and before it expires, with how to extend it', () => {
    const state = { ...initialDemoStatus(input, startedAt, 's'), outputs: { Url: 'https://x' } };
    expect(demoNotices.ready(input, state)).toEqual({
      event: 'demo.ready',
      severity: 'info',
      title: 'Demo acme-1 is ready',
      text: 'cross-account-trust for ana, until 2026-11-29T14:00:00.000Z',
      fields: {
        demo: 'acme-1',
        scenario: 'cross-account-trust',
        owner: 'ana',
        account: '210987654321',
        expiresAt: '2026-11-29T14:00:00.000Z',
        Url: 'https://x',
      },
    });
    expect(demoNotices.expiring(input, state).text).toBe(
      'Extend it with `sv0 demo extend acme-1 1h` (at most until 2026-11-30T10:00:00.000Z).',
    );
  });

  it('sums up a teardown: clean, failed deploy, or what is left', () => {
    const state = {
      ...initialDemoStatus(input, startedAt, 's'),
      destroyReason: 'expired',
      resources: [{ logicalId: 'Role', type: 'AWS::IAM::Role', physicalId: 'r' }],
      deleted: [{ arn: 'arn:aws:s3:::b', type: 's3:bucket' }],
    };
    const clean = demoNotices.tornDown(input, state, { clean: true, problems: [], livedMs: 3_600_400 });
    expect(clean).toMatchObject({
      event: 'demo.destroyed',
      severity: 'info',
      title: 'Demo acme-1 destroyed',
    });
    expect(clean.text).toBe(
      'Reason: expired. Lived 1h.\nCreated: AWS::IAM::Role.\nSwept after the stack: arn:aws:s3:::b.',
    );
    const failed = demoNotices.tornDown(input, state, {
      clean: true,
      deployError: 'Role: denied',
      problems: [],
      livedMs: 30_000,
    });
    expect(failed).toMatchObject({
      severity: 'warning',
      title: 'Demo acme-1 failed to deploy and was torn down',
    });
    expect(failed.text).toContain('\nDeploy error: Role: denied');
    const left = demoNotices.tornDown(
      input,
      { ...state, leftovers: [{ arn: 'arn:aws:iam::1:role/x', type: 'iam:role' }] },
      { clean: false, problems: ['arn:aws:iam::1:role/x: denied'], livedMs: 1000 },
    );
    expect(left).toMatchObject({
      event: 'demo.leftovers',
      severity: 'critical',
      title: 'Demo acme-1: 1 resource(s) left after teardown',
      fields: { created: 1, swept: 1, leftovers: 1 },
    });
    expect(left.text).toContain(
      '\nProblems: arn:aws:iam::1:role/x: denied\nStill there: arn:aws:iam::1:role/x',
    );
  });

  it("gives the demo's cost so far in the summary, always labelled delayed, or why it is unknown", () => {
    const state = {
      ...initialDemoStatus(input, startedAt, 'sv0-demo-acme-1'),
      cost: {
        amount: 1.5,
        currency: 'USD',
        from: '2026-11-29',
        through: '2026-11-29',
        delayed: true,
      } as const,
    };
    const summary = demoNotices.tornDown(input, state, { clean: true, problems: [], livedMs: 60_000 });
    expect(summary.text).toContain(
      "\nCost so far: $1.50 from 2026-11-29 through 2026-11-29 (delayed: Cost Explorer's data lags about a day, so this is a lower bound;",
    );
    expect(summary.fields).toMatchObject({ cost: '$1.50 (delayed)' });
    const unknown = demoNotices.tornDown(
      input,
      { ...state, cost: { unavailable: 'Cost Explorer GetCostAndUsage failed: AccessDeniedException' } },
      { clean: true, problems: [], livedMs: 60_000 },
    );
    expect(unknown.text).toContain(
      '\nCost so far: unavailable (Cost Explorer GetCostAndUsage failed: AccessDeniedException)',
    );
    expect(unknown.fields).toMatchObject({ cost: 'unavailable' });
    // A demo that ended before costs were read says nothing about cost.
    const old = demoNotices.tornDown(input, initialDemoStatus(input, startedAt, 'x'), {
      clean: true,
      problems: [],
      livedMs: 1000,
    });
    expect(old.text).not.toContain('Cost');
    expect(old.fields).not.toHaveProperty('cost');
  });

  it('says why an expiry move is refused and why a demo failed', () => {
    expect(expiryRefusals.notLive('acme-1', 'destroying', 'extended')).toBe(
      'demo acme-1 is destroying; it can no longer be extended',
    );
    expect(
      expiryRefusals.pastMaximum(
        input,
        '1d',
        Date.parse('2026-11-30T14:00:00.000Z'),
        '2026-11-30T10:00:00.000Z',
      ),
    ).toBe(
      'extend 1d would end the demo at 2026-11-30T14:00:00.000Z, past its maximum 2026-11-30T10:00:00.000Z (scenario cross-account-trust: 1d from the start)',
    );
    expect(expiryRefusals.inThePast('5h')).toBe(
      'shorten 5h would end the demo in the past; use destroy instead',
    );
    expect(demoFailures.leftovers('acme-1', [{ arn: 'a' }, { arn: 'b' }])).toBe(
      'demo acme-1: 2 resource(s) still tagged sv0:demo=acme-1 after teardown: a, b',
    );
    expect(demoFailures.deployFailed('acme-1', 'x')).toBe('demo acme-1: deploy failed and was torn down: x');
  });

  it('sums up the sweep per account, critical when anything was refused or failed', () => {
    const results: AccountSweepResult[] = [
      {
        accountId: '210987654321',
        accountName: 'sv0-demo',
        plan: {
          accountId: '210987654321',
          stacks: [{ arn: 's', type: 'cloudformation:stack', reason: 'old' }],
          resources: [],
          kept: [],
        },
        deleted: [{ arn: 's', type: 'cloudformation:stack' }],
        failed: [],
      },
      {
        accountId: '111111111111',
        accountName: 'sv0-platform',
        refused: 'not sandbox',
        deleted: [],
        failed: [],
      },
    ];
    expect(sweepSummary(true, results)).toEqual({
      event: 'demo.sweep',
      severity: 'critical',
      title: 'Nightly demo sweep: 1 deleted',
      text: 'sv0-demo (210987654321): deleted 1, failed 0, kept 0\nsv0-platform (111111111111): refused: not sandbox',
      fields: { accounts: 2, apply: true },
    });
    expect(sweepSummary(false, results.slice(0, 1))).toMatchObject({
      severity: 'info',
      title: 'Nightly demo sweep (dry run): 1 deleted',
      text: 'sv0-demo (210987654321): would delete 1, keep 0',
    });
    // Untagged resources the sweep only reports are listed, each with why.
    const untagged = {
      ...results[0]!,
      plan: {
        ...results[0]!.plan!,
        untagged: [
          {
            arn: 'arn:aws:s3:::stray',
            type: 's3:bucket',
            reason: 'untagged, older than 12h: reported only (sweepUntagged is off for this account)',
          },
        ],
      },
    };
    expect(sweepSummary(false, [untagged]).text).toBe(
      'sv0-demo (210987654321): would delete 1, keep 0, untagged 1\n  untagged arn:aws:s3:::stray: untagged, older than 12h: reported only (sweepUntagged is off for this account)',
    );
  });
});
