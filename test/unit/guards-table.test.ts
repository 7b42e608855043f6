import { describe, expect, it } from 'vitest';
import { assertSandboxTarget, checkSandboxTarget, sweepVerdict } from '../../lib/sandbox';

/**
 * Guards, table-driven (issue 8, item 6). The sweep (workflows/demo-sweep.ts), demo teardown
 * (activities/demo.ts) and the budget freeze (activities/budgets.ts, workflows/budget-guard.ts)
 * all decide with `checkSandboxTarget`; each refusal below holds for all three.
 */
const MANAGEMENT = '123456789012';
const org = {
  accounts: [
    { name: 'sv0-demo', sandbox: true },
    { name: 'sv0-platform' },
    { name: 'sv0-security-tooling', sandbox: false },
    { name: 'prod', sandbox: true },
    { name: 'sv0-production-copy', sandbox: true },
  ],
};
const ok = { accountId: '222222222222', accountName: 'sv0-demo', org, managementAccountId: MANAGEMENT };

const refused: [string, Partial<typeof ok> & { aliases?: string[] }, RegExp][] = [
  ['the management account', { accountId: MANAGEMENT }, /management account/],
  [
    'the management account under a sandbox name',
    { accountId: MANAGEMENT, accountName: 'sv0-demo' },
    /management account/,
  ],
  ['the organization root', { accountId: 'r-ab12' }, /r-ab12.*12-digit/],
  ['an organizational unit', { accountId: 'ou-ab12-cdefgh12' }, /ou-ab12-cdefgh12.*12-digit/],
  ['an account not in org.yaml', { accountName: 'someone-else' }, /not declared/],
  ['an account without sandbox: true', { accountName: 'sv0-platform' }, /not marked sandbox/],
  ['an account with sandbox: false', { accountName: 'sv0-security-tooling' }, /not marked sandbox/],
  ['an account called prod, even marked sandbox', { accountName: 'prod' }, /prod/],
  ['an account whose name says production', { accountName: 'sv0-production-copy' }, /prod/],
  ['a sandbox account whose alias says prod', { aliases: ['acme-prod'] }, /acme-prod/],
  ['an unknown management account id', { managementAccountId: '' }, /management account id is unknown/],
  ['a truncated account id', { accountId: '22222222222' }, /12-digit/],
];

describe('destructive actions refuse every target that is not a declared sandbox account', () => {
  it('allows the declared sandbox account (the control)', () => {
    expect(checkSandboxTarget(ok)).toEqual({ ok: true });
  });

  it.each(refused)('refuses %s', (_name, change, reason) => {
    const result = checkSandboxTarget({ ...ok, ...change });
    expect(result.ok).toBe(false);
    expect((result as { reason: string }).reason).toMatch(reason);
    expect(() => assertSandboxTarget({ ...ok, ...change })).toThrow(reason);
  });
});

describe('the sweep never deletes what it cannot prove is an expired ephemeral resource', () => {
  const now = Date.parse('2026-11-28T02:00:00Z');
  const old = '2026-11-27T01:00:00Z';
  const base = { now, maxAgeMs: 12 * 3_600_000, runningDemoIds: new Set(['demo-live']) };

  it('sweeps an old ephemeral resource (the control)', () => {
    expect(sweepVerdict({ ...base, tags: { 'sv0:ephemeral': 'true' }, createdAt: old }).sweep).toBe(true);
  });

  it.each([
    ['an untagged resource', {}, old, 'untagged'],
    ['sv0:ephemeral=false', { 'sv0:ephemeral': 'false' }, old, 'untagged'],
    ['sv0:ttl=permanent', { 'sv0:ephemeral': 'true', 'sv0:ttl': 'permanent' }, old, 'permanent'],
    ['a malformed sv0:ttl', { 'sv0:ephemeral': 'true', 'sv0:ttl': '2 hours' }, old, 'bad-ttl'],
    ['a resource of a running demo', { 'sv0:ephemeral': 'true', 'sv0:demo': 'demo-live' }, old, 'owned'],
    ['a resource of unknown age', { 'sv0:ephemeral': 'true' }, undefined, 'age-unknown'],
  ] as const)('keeps %s', (_name, tags, createdAt, reason) => {
    expect(sweepVerdict({ ...base, tags, createdAt })).toEqual({ sweep: false, reason });
  });
});
