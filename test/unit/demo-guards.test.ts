import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import {
  assertSandboxTarget,
  checkSandboxTarget,
  isEphemeral,
  looksLikeProd,
  sweepVerdict,
} from '../../lib/sandbox';
import { warningLeadMs } from '../../lib/contracts/demo';
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

describe('warningLeadMs', () => {
  it('is 15 minutes by default and at most half the TTL', () => {
    expect(warningLeadMs(4 * 3_600_000)).toBe(15 * 60_000);
    expect(warningLeadMs(20 * 60_000)).toBe(10 * 60_000);
    expect(warningLeadMs(10_000, 60_000)).toBe(5_000);
  });
});
