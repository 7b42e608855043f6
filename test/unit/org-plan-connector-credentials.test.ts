import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { trustPolicy } from '../../activities/org/roles';
import { OrgSchema } from '../../lib/config/org';
import { WorkerSettingsSchema } from '../../lib/config/worker';
import {
  connectorCredentialsRolePolicy,
  connectorCredentialsTrustPolicy,
} from '../../lib/org/connector-credentials';
import { buildDesiredOrg } from '../../lib/org/desired';
import { planOrg } from '../../lib/org/plan';
import { planConnectorCredentials } from '../../lib/org/plan/connector-credentials';
import type { PlanDraft } from '../../lib/org/plan/steps';
import type { DesiredOrg, LiveOrg } from '../../lib/org/types';
import { loadBudgetsConfig, loadOrgConfig } from '../../lib/runtime/config';

/**
 * The connector credentials role: the plan step that creates it and brings its documents back,
 * and the documents themselves. moto enforces no trust policy, so the chain the worker assumes
 * (management account -> sv0-connector-credentials -> SecurityV0-ReadOnly) is checked here, by
 * evaluating the documents the bootstrap writes the way IAM reads these statements.
 */

const CONFIG = path.resolve(__dirname, '../../config');
const MGMT = '111111111111';
const PLATFORM = '222222222222';
const SECURITY = '333333333333';

function desired(): DesiredOrg {
  const org = loadOrgConfig(CONFIG);
  return buildDesiredOrg(org, loadBudgetsConfig(CONFIG, org));
}

function live(connectorCredentials: LiveOrg['connectorCredentials']): LiveOrg {
  const account = (id: string, name: string) => ({
    id,
    name,
    email: `${name}@example.com`,
    status: 'ACTIVE',
    parent: 'root' as const,
    tags: {},
  });
  return {
    managementAccountId: MGMT,
    scpEnabled: true,
    ous: [],
    accounts: [account(PLATFORM, 'sv0-platform'), account(SECURITY, 'sv0-security-tooling')],
    policies: [],
    attachments: [],
    roles: [],
    budgets: [],
    cost: {},
    notes: [],
    ...(connectorCredentials ? { connectorCredentials } : {}),
  };
}

function plan(l: LiveOrg, d = desired()): PlanDraft {
  const draft: PlanDraft = { steps: [], undeclared: [], frozen: [], notes: [], warnings: [] };
  planConnectorCredentials(l, d, draft);
  return draft;
}

const TRUST = connectorCredentialsTrustPolicy(MGMT, 'sv0-connector-credentials-change-me');
const PERMISSIONS = connectorCredentialsRolePolicy([{ accountId: SECURITY, role: 'SecurityV0-ReadOnly' }]);

describe('the connector credentials role in the plan', () => {
  it('org.yaml declares it in sv0-platform, able to assume the roles that trust sv0-platform', () => {
    expect(desired().connectorCredentials).toEqual({
      account: 'sv0-platform',
      role: 'sv0-connector-credentials',
      externalId: 'sv0-connector-credentials-change-me',
      assumes: [{ account: 'sv0-security-tooling', role: 'SecurityV0-ReadOnly' }],
    });
  });

  it('is created when missing, after the accounts it lives in and points at', () => {
    const steps = plan(live({ exists: false })).steps;
    expect(steps).toEqual([
      expect.objectContaining({
        id: 'ensureConnectorCredentialsRole:sv0-platform/sv0-connector-credentials',
        kind: 'ensureConnectorCredentialsRole',
        create: true,
        wave: 3,
        summary: expect.stringContaining('allowed to assume SecurityV0-ReadOnly in sv0-security-tooling'),
      }),
    ]);
    // In the whole plan from nothing, after the accounts it lives in and points at are created.
    const whole = planOrg({ ...live({ exists: false }), accounts: [], organization: undefined }, desired());
    const at = (kind: string) => whole.steps.find((s) => s.kind === kind)!.wave;
    expect(at('ensureConnectorCredentialsRole')).toBeGreaterThan(at('createAccount'));
  });

  it('plans nothing when its documents are as declared, whatever their layout', () => {
    const pretty = (doc: string) => JSON.stringify(JSON.parse(doc), null, 2);
    expect(
      plan(live({ exists: true, trustPolicy: pretty(TRUST), policy: pretty(PERMISSIONS) })).steps,
    ).toEqual([]);
  });

  it.each([
    ['trust policy', { trustPolicy: connectorCredentialsTrustPolicy(MGMT, 'guessable') }],
    [
      'trust policy',
      { trustPolicy: connectorCredentialsTrustPolicy('444444444444', 'sv0-connector-credentials-change-me') },
    ],
    [
      'permissions',
      { policy: connectorCredentialsRolePolicy([{ accountId: '*', role: 'SecurityV0-ReadOnly' }]) },
    ],
    ['permissions', { policy: undefined }],
  ])('a changed %s is planned back', (what, change) => {
    const steps = plan(live({ exists: true, trustPolicy: TRUST, policy: PERMISSIONS, ...change })).steps;
    expect(steps).toEqual([
      expect.objectContaining({
        kind: 'ensureConnectorCredentialsRole',
        create: false,
        summary: `update role sv0-connector-credentials in sv0-platform: ${what}`,
      }),
    ]);
  });

  it('is left alone when it was not read (older results), or noted when its account is frozen', () => {
    expect(plan(live(undefined)).steps).toEqual([]);
    const frozen = plan(live({ exists: false, frozen: true }));
    expect(frozen.steps).toEqual([]);
    expect(frozen.notes).toEqual([expect.stringMatching(/sv0-platform is frozen/)]);
    const none = { ...desired(), connectorCredentials: undefined };
    expect(plan(live({ exists: false }), none).steps).toEqual([]);
  });
});

describe('connectorCredentials in org.yaml', () => {
  const shipped = () => parse(readFileSync(path.join(CONFIG, 'org.yaml'), 'utf8')) as Record<string, unknown>;
  const problems = (over: Record<string, unknown>) => {
    const result = OrgSchema.safeParse({ ...shipped(), ...over });
    return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('must live in a declared account that a cross-account role trusts, under a name of its own', () => {
    expect(problems({})).toEqual([]);
    expect(problems({ connectorCredentials: { account: 'sv0-nowhere', externalId: 'x-12' } })).toEqual([
      'connectorCredentials.account: account "sv0-nowhere" is not declared in accounts',
      'connectorCredentials.account: no crossAccountRoles entry trusts "sv0-nowhere", so the role could assume nothing',
    ]);
    expect(problems({ connectorCredentials: { account: 'sv0-demo', externalId: 'x-12' } })).toEqual([
      'connectorCredentials.account: no crossAccountRoles entry trusts "sv0-demo", so the role could assume nothing',
    ]);
    expect(
      problems({
        connectorCredentials: {
          account: 'sv0-security-tooling',
          role: 'SecurityV0-ReadOnly',
          externalId: 'x-12',
        },
      }),
    ).toEqual(
      expect.arrayContaining([
        'connectorCredentials.role: role "SecurityV0-ReadOnly" is also declared in crossAccountRoles',
      ]),
    );
    expect(problems({ connectorCredentials: { account: 'sv0-platform', externalId: 'a b' } })).toEqual([
      expect.stringMatching(/^connectorCredentials\.externalId: /),
    ]);
  });

  it('the role name defaults to sv0-connector-credentials; without the section nothing is planned', () => {
    const parsed = OrgSchema.parse({
      ...shipped(),
      connectorCredentials: { account: 'sv0-platform', externalId: 'x-12' },
    });
    expect(parsed.connectorCredentials?.role).toBe('sv0-connector-credentials');
    const without = OrgSchema.parse({ ...shipped(), connectorCredentials: undefined });
    expect(buildDesiredOrg(without, loadBudgetsConfig(CONFIG, without)).connectorCredentials).toBeUndefined();
  });
});

interface Statement {
  Effect: string;
  Principal?: { AWS?: string | string[] };
  Action: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : [v].flat());
const wildcard = (pattern: string, value: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.?+^$()[\]{}|\\/]/g, '\\$&'))
      .join('.*')}$`,
  ).test(value);

/**
 * Whether a trust policy lets a principal of `account` assume the role with `externalId`, read as
 * IAM reads these documents: an Allow of sts:AssumeRole for the account's root, every condition
 * met. A condition this evaluator does not know fails the test rather than pass unread.
 */
function trustAllows(document: string, caller: { account: string; externalId?: string }): boolean {
  const doc = JSON.parse(document) as { Statement: Statement[] };
  return doc.Statement.some((s) => {
    if (s.Effect !== 'Allow' || !list(s.Action).includes('sts:AssumeRole')) return false;
    if (!list(s.Principal?.AWS).includes(`arn:aws:iam::${caller.account}:root`)) return false;
    return Object.entries(s.Condition ?? {}).every(([op, keys]) => {
      if (op !== 'StringEquals') throw new Error(`condition operator ${op} is not evaluated here`);
      return Object.entries(keys).every(([key, want]) => {
        if (key !== 'sts:ExternalId') throw new Error(`condition key ${key} is not evaluated here`);
        return caller.externalId !== undefined && list(want).includes(caller.externalId);
      });
    });
  });
}

/** Whether an identity policy allows `action` on `resource` (Allow statements only: it has no Deny). */
function permits(document: string, action: string, resource: string): boolean {
  const doc = JSON.parse(document) as { Statement: Statement[] };
  expect(doc.Statement.every((s) => s.Effect === 'Allow' && !s.Condition)).toBe(true);
  return doc.Statement.some(
    (s) =>
      list(s.Action).some((a) => wildcard(a, action)) && list(s.Resource).some((r) => wildcard(r, resource)),
  );
}

describe('the documents of the role chain', () => {
  const worker = WorkerSettingsSchema.parse(parse(readFileSync(path.join(CONFIG, 'worker.yaml'), 'utf8')));
  const [hop1, hop2] = worker.secrets.roleChains['aws-connector']!;
  const d = desired();
  const securityRole = d.roles.find((r) => r.name === 'SecurityV0-ReadOnly')!;
  const securityTrust = trustPolicy(PLATFORM, securityRole.externalId);

  it('hop 1: the worker, in the management account, with worker.yaml’s external id', () => {
    expect([hop1!.account, hop1!.role]).toEqual([
      d.connectorCredentials!.account,
      d.connectorCredentials!.role,
    ]);
    const trust = connectorCredentialsTrustPolicy(MGMT, d.connectorCredentials!.externalId);
    expect(trustAllows(trust, { account: MGMT, externalId: hop1!.externalId })).toBe(true);
    expect(trustAllows(trust, { account: MGMT, externalId: 'another' })).toBe(false);
    expect(trustAllows(trust, { account: MGMT })).toBe(false);
    expect(trustAllows(trust, { account: PLATFORM, externalId: hop1!.externalId })).toBe(false);
  });

  it('hop 2: from sv0-platform, the role may assume SecurityV0-ReadOnly, which trusts it with worker.yaml’s external id', () => {
    expect([hop2!.account, hop2!.role]).toEqual([securityRole.account, securityRole.name]);
    expect(permits(PERMISSIONS, 'sts:AssumeRole', `arn:aws:iam::${SECURITY}:role/SecurityV0-ReadOnly`)).toBe(
      true,
    );
    expect(trustAllows(securityTrust, { account: PLATFORM, externalId: hop2!.externalId })).toBe(true);
    expect(trustAllows(securityTrust, { account: MGMT, externalId: hop2!.externalId })).toBe(false);
    expect(trustAllows(securityTrust, { account: PLATFORM, externalId: hop1!.externalId })).toBe(false);
  });

  it('the role may do nothing else: no other role, account or action', () => {
    for (const [action, resource] of [
      ['sts:AssumeRole', `arn:aws:iam::${SECURITY}:role/OrganizationAccountAccessRole`],
      ['sts:AssumeRole', `arn:aws:iam::${MGMT}:role/SecurityV0-ReadOnly`],
      ['sts:AssumeRole', `arn:aws:iam::${PLATFORM}:role/sv0-connector-credentials`],
      ['iam:PassRole', `arn:aws:iam::${SECURITY}:role/SecurityV0-ReadOnly`],
      ['s3:GetObject', '*'],
    ] as const)
      expect(permits(PERMISSIONS, action, resource), `${action} ${resource}`).toBe(false);
    // No wildcard in what it may assume.
    expect(JSON.parse(PERMISSIONS).Statement[0].Resource.join()).not.toContain('*');
  });
});
