import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import {
  assertSandboxTarget,
  assertWorkerSandboxTarget,
  checkSandboxTarget,
  checkWorkerSandboxTarget,
  isEphemeral,
  looksLikeProd,
  orchestratorOwned,
  sweepVerdict,
  untaggedAge,
} from '../../lib/sandbox';
import { ErrorType } from '../../lib/names';

const org = {
  accounts: [
    { name: 'sv0-demo', sandbox: true },
    { name: 'sv0-platform', sandbox: false },
    { name: 'sv0-prod-sandbox', sandbox: true },
  ],
};
const base = { accountId: '222222222222', accountName: 'sv0-demo', org, managementAccountId: '123456789012' };

describe('assertSandboxTarget', () => {
  it('allows an account the config marks sandbox', () => {
    expect(checkSandboxTarget(base)).toEqual({ ok: true });
  });

  it('refuses the management account even when its name is marked sandbox', () => {
    const r = checkSandboxTarget({ ...base, accountId: '123456789012' });
    expect(r).toMatchObject({ ok: false });
    expect((r as { reason: string }).reason).toMatch(/management account/);
  });

  it('refuses an account not in config/org.yaml and one not marked sandbox', () => {
    expect(checkSandboxTarget({ ...base, accountName: 'someone-else' })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not declared/),
    });
    expect(checkSandboxTarget({ ...base, accountName: 'sv0-platform' })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not marked sandbox/),
    });
  });

  it('refuses a name or alias that says prod, even when marked sandbox', () => {
    expect(checkSandboxTarget({ ...base, accountName: 'sv0-prod-sandbox' })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/says prod/),
    });
    expect(checkSandboxTarget({ ...base, aliases: ['acme-Production'] })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/acme-Production/),
    });
    expect(looksLikeProd('sv0-demo')).toBe(false);
  });

  it('refuses malformed ids and an unknown management account', () => {
    expect(checkSandboxTarget({ ...base, accountId: '22' }).ok).toBe(false);
    expect(checkSandboxTarget({ ...base, managementAccountId: '' }).ok).toBe(false);
  });

  it('throws a non-retryable GuardRefused failure', () => {
    let caught: unknown;
    try {
      assertSandboxTarget({ ...base, accountId: '123456789012' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ApplicationFailure);
    expect((caught as ApplicationFailure).type).toBe(ErrorType.SandboxRefused);
    expect((caught as ApplicationFailure).nonRetryable).toBe(true);
  });
});

describe('sweepVerdict', () => {
  const now = Date.parse('2026-01-02T12:00:00Z');
  const old = '2026-01-01T12:00:00Z'; // 24 h before now
  const young = '2026-01-02T11:00:00Z'; // 1 h before now
  const v = (tags: Record<string, string>, createdAt?: string, running: string[] = []) =>
    sweepVerdict({ tags, createdAt, now, maxAgeMs: 12 * 3_600_000, runningDemoIds: new Set(running) });

  it('sweeps only ephemeral-tagged resources', () => {
    expect(v({}, old)).toEqual({ sweep: false, reason: 'untagged' });
    expect(v({ 'sv0:ephemeral': 'false' }, old)).toEqual({ sweep: false, reason: 'untagged' });
    expect(isEphemeral({ 'sv0:ephemeral': 'true' })).toBe(true);
    expect(v({ 'sv0:ephemeral': 'true' }, old).sweep).toBe(true);
  });

  it('keeps young resources, unless past their own sv0:ttl (bare numbers are hours)', () => {
    expect(v({ 'sv0:ephemeral': 'true' }, young)).toEqual({ sweep: false, reason: 'young' });
    expect(v({ 'sv0:ephemeral': 'true', 'sv0:ttl': '30m' }, young).sweep).toBe(true);
    expect(v({ 'sv0:ephemeral': 'true', 'sv0:ttl': '2' }, young).sweep).toBe(false);
  });

  it('never sweeps permanent, owned, age-unknown or badly tagged resources', () => {
    expect(v({ 'sv0:ephemeral': 'true', 'sv0:ttl': 'permanent' }, old).reason).toBe('permanent');
    expect(v({ 'sv0:ephemeral': 'true', 'sv0:demo': 'a1' }, old, ['a1']).reason).toBe('owned');
    expect(v({ 'sv0:ephemeral': 'true', 'sv0:demo': 'a1' }, old, ['b2']).sweep).toBe(true);
    expect(v({ 'sv0:ephemeral': 'true' }, undefined).reason).toBe('age-unknown');
    expect(v({ 'sv0:ephemeral': 'true', 'sv0:ttl': 'soon' }, old).reason).toBe('bad-ttl');
  });
});

/*
 * Table-driven: the sweep (workflows/demo/sweep.ts), demo teardown (activities/demo/target.ts) and
 * the budget freeze (activities/budget/guard.ts, workflows/budget/guard.ts) all decide with
 * `checkSandboxTarget`; each refusal below holds for all three.
 */
const MANAGEMENT = '123456789012';
const tableOrg = {
  accounts: [
    { name: 'sv0-demo', sandbox: true },
    { name: 'sv0-platform' },
    { name: 'sv0-security-tooling', sandbox: false },
    { name: 'prod', sandbox: true },
    { name: 'sv0-production-copy', sandbox: true },
  ],
};
const ok = {
  accountId: '222222222222',
  accountName: 'sv0-demo',
  org: tableOrg,
  managementAccountId: MANAGEMENT,
};

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

describe("the worker's sandbox check decides by its own settings, never by input", () => {
  const sandbox = { accounts: ['sv0-demo', '333333333333'] };
  const target = {
    accountId: '222222222222',
    accountName: 'sv0-demo',
    managementAccountId: '123456789012',
    sandbox,
  };

  it('allows a sandbox account by its live name or by its id', () => {
    expect(checkWorkerSandboxTarget(target)).toEqual({ ok: true });
    expect(checkWorkerSandboxTarget({ ...target, accountId: '333333333333', accountName: 'lab' })).toEqual({
      ok: true,
    });
  });

  it.each([
    [
      'an account the settings do not list',
      { accountName: 'sv0-platform' },
      /sv0-platform\) is not a sandbox account of the worker/,
    ],
    ['an account without a live name', { accountName: '' }, /not a sandbox account of the worker/],
    [
      'the live management account, even by a sandbox name',
      { accountId: '123456789012' },
      /management account/,
    ],
    ['a listed account whose alias says prod', { aliases: ['acme-prod'] }, /acme-prod/],
    ['the root', { accountId: 'r-ab12' }, /12-digit/],
    ['an unknown management account', { managementAccountId: '' }, /unknown/],
    [
      'any target while the live management account is not the pinned one',
      { sandbox: { ...sandbox, managementAccountId: '999999999999' } },
      /live organization's management account is 123456789012, not 999999999999/,
    ],
  ] as const)('refuses %s', (_name, change, reason) => {
    const result = checkWorkerSandboxTarget({ ...target, ...change });
    expect(result.ok).toBe(false);
    expect((result as { reason: string }).reason).toMatch(reason);
    const thrown = (() => {
      try {
        assertWorkerSandboxTarget({ ...target, ...change });
      } catch (err) {
        return err;
      }
    })();
    expect(thrown).toBeInstanceOf(ApplicationFailure);
    expect(thrown).toMatchObject({ type: ErrorType.SandboxRefused, nonRetryable: true });
  });
});

describe('untagged resources in the sweep', () => {
  const acct = '210987654321';
  it("never takes the orchestrator's own roles and stacks, or what AWS keeps in the account", () => {
    const own = (arn: string) => orchestratorOwned(arn, { orchestratorRole: 'sv0-orchestrator-deploy' });
    for (const arn of [
      `arn:aws:iam::${acct}:role/sv0-orchestrator-deploy`,
      `arn:aws:iam::${acct}:role/sv0-anything`,
      `arn:aws:iam::${acct}:role/OrganizationAccountAccessRole`,
      `arn:aws:iam::${acct}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_1a2b`,
      `arn:aws:iam::${acct}:role/aws-service-role/ops.amazonaws.com/AWSServiceRoleForX`,
      `arn:aws:cloudformation:us-east-1:${acct}:stack/sv0-demo-acme/0f1e`,
      `arn:aws:cloudformation:us-east-1:${acct}:stack/StackSet-baseline-1/0f1e`,
      'arn:aws:s3:::sv0-demo-acme-210987654321',
    ])
      expect(own(arn), arn).toBe(true);
    for (const arn of [
      `arn:aws:iam::${acct}:role/stray`,
      `arn:aws:iam::${acct}:role/team/sv0`,
      `arn:aws:cloudformation:us-east-1:${acct}:stack/stray/0f1e`,
      'arn:aws:s3:::stray-bucket',
      `arn:aws:sns:us-east-1:${acct}:stray`,
    ])
      expect(own(arn), arn).toBe(false);
    // The worker's own orchestrator role, whatever its name.
    expect(
      orchestratorOwned(`arn:aws:iam::${acct}:role/ops-deployer`, { orchestratorRole: 'ops-deployer' }),
    ).toBe(true);
  });

  it('knows an `sv0-` name by one rule in every type the sweep lists', () => {
    const own = (arn: string) => orchestratorOwned(arn, { orchestratorRole: 'sv0-orchestrator-deploy' });
    const r = 'us-west-2';
    const cases: [string, string][] = [
      ['iam:role', `arn:aws:iam::${acct}:role/NAME`],
      ['iam:oidc-provider', `arn:aws:iam::${acct}:oidc-provider/example.com/NAME`],
      ['s3:bucket', 'arn:aws:s3:::NAME'],
      ['cloudformation:stack', `arn:aws:cloudformation:${r}:${acct}:stack/NAME/0f1e-22`],
      ['lambda:function', `arn:aws:lambda:${r}:${acct}:function:NAME`],
      ['lambda:version', `arn:aws:lambda:${r}:${acct}:function:NAME:3`],
      ['sns:topic', `arn:aws:sns:${r}:${acct}:NAME`],
      ['states:stateMachine', `arn:aws:states:${r}:${acct}:stateMachine:NAME`],
      ['dynamodb:table', `arn:aws:dynamodb:${r}:${acct}:table/NAME`],
      ['secretsmanager:secret', `arn:aws:secretsmanager:${r}:${acct}:secret:NAME-AbCdEf`],
      ['logs:log-group', `arn:aws:logs:${r}:${acct}:log-group:/aws/lambda/NAME`],
      ['events:rule', `arn:aws:events:${r}:${acct}:rule/NAME`],
      ['events:rule on a bus', `arn:aws:events:${r}:${acct}:rule/ops-bus/NAME`],
      ['ecr:repository', `arn:aws:ecr:${r}:${acct}:repository/team/NAME`],
      ['ec2:security-group (tagging API only)', `arn:aws:ec2:${r}:${acct}:security-group/NAME`],
    ];
    for (const [type, arn] of cases) {
      expect(own(arn.replace('NAME', 'sv0-demo-settings')), type).toBe(true);
      expect(own(arn.replace('NAME', 'stray-settings')), type).toBe(false);
      // The prefix is a name's start, not somewhere inside it.
      expect(own(arn.replace('NAME', 'my-sv0-settings')), type).toBe(false);
    }
  });

  it("keeps the roles the worker's org.yaml declares in the account, whatever their names", () => {
    const declared = { orchestratorRole: 'sv0-orchestrator-deploy', declaredRoles: ['SecurityV0-ReadOnly'] };
    expect(orchestratorOwned(`arn:aws:iam::${acct}:role/SecurityV0-ReadOnly`, declared)).toBe(true);
    // IAM role names are unique regardless of case: that is the declared role too.
    expect(orchestratorOwned(`arn:aws:iam::${acct}:role/securityv0-readonly`, declared)).toBe(true);
    expect(orchestratorOwned(`arn:aws:iam::${acct}:role/SecurityV0-ReadOnly-copy`, declared)).toBe(false);
    // A declared role's name does not keep another type's resource of that name.
    expect(orchestratorOwned(`arn:aws:sns:us-east-1:${acct}:SecurityV0-ReadOnly`, declared)).toBe(false);
    // Not declared in this account: an untagged leftover like any other.
    expect(
      orchestratorOwned(`arn:aws:iam::${acct}:role/SecurityV0-ReadOnly`, {
        orchestratorRole: 'sv0-orchestrator-deploy',
      }),
    ).toBe(false);
  });

  it('ages an untagged resource by at least 12 hours, whatever maximum age the sweep is given', () => {
    const now = Date.parse('2026-12-07T12:00:00Z');
    const at = (h: number) => new Date(now - h * 3_600_000).toISOString();
    expect(untaggedAge({ createdAt: at(13), now, maxAgeMs: 3_600_000 })).toBe('old');
    expect(untaggedAge({ createdAt: at(11), now, maxAgeMs: 3_600_000 })).toBe('young');
    expect(untaggedAge({ createdAt: at(13), now, maxAgeMs: 24 * 3_600_000 })).toBe('young');
    expect(untaggedAge({ now, maxAgeMs: 3_600_000 })).toBe('age-unknown');
  });
});
