import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBudgetsConfig, loadOrgConfig } from '../../lib/runtime/config';
import { AWS_DEFAULT_COST_TYPES, GROSS_COST_TYPES } from '../../lib/budget-cost-types';
import { buildDesiredOrg } from '../../lib/org/desired';
import { planDifference, planOrg, waves } from '../../lib/org/plan';
import { type DesiredOrg, type LiveOrg, targetRef } from '../../lib/org/types';
import { expandFreezeExemption } from '../../lib/org/freeze-exemption';
import { alertsTopicPolicy, budgetsFreezeRolePolicy, budgetsFreezeTrustPolicy } from '../../lib/org/backstop';

const CONFIG = path.resolve(__dirname, '../../config');
const MGMT = '111111111111';

function desired(): DesiredOrg {
  const org = loadOrgConfig(CONFIG);
  return buildDesiredOrg(org, loadBudgetsConfig(CONFIG, org));
}

function emptyLive(): LiveOrg {
  return {
    managementAccountId: MGMT,
    scpEnabled: false,
    ous: [],
    accounts: [],
    policies: [],
    attachments: [],
    roles: [],
    budgets: [],
    identityCenter: {
      instanceArn: 'arn:aws:sso:::instance/ssoins-1',
      identityStoreId: 'd-1',
      users: [],
      permissionSets: [],
      assignments: [],
    },
    cost: { allocationTags: [], anomalyMonitors: [] },
    notes: [],
  };
}

/** The live organization exactly as the file declares it. */
function convergedLive(d: DesiredOrg): LiveOrg {
  const id = (name: string) =>
    name === 'management' ? MGMT : String(200000000000 + d.accounts.findIndex((a) => a.name === name));
  const sandboxIds = d.accounts.filter((a) => a.sandbox).map((a) => id(a.name));
  return {
    managementAccountId: MGMT,
    organization: { id: 'o-1', featureSet: 'ALL' },
    rootId: 'r-1',
    scpEnabled: true,
    ous: d.organizationalUnits.map((name, i) => ({ id: `ou-${i}`, name })),
    accounts: [
      {
        id: MGMT,
        name: 'management',
        email: 'root@securityv0.com',
        status: 'ACTIVE',
        parent: 'root',
        tags: {},
      },
      ...d.accounts.map((a) => ({
        id: id(a.name),
        name: a.name,
        email: a.email,
        status: 'ACTIVE',
        parent: targetRef.ou(a.ou),
        tags: { ...a.tags },
      })),
    ],
    policies: [
      { id: 'p-FullAWSAccess', name: 'FullAWSAccess', description: '', content: '', awsManaged: true },
      // Same document, different layout: not a change.
      ...d.policies.map((p, i) => ({
        id: `p-${i}`,
        name: p.name,
        description: p.description,
        content: JSON.stringify(JSON.parse(expandFreezeExemption(p.content, sandboxIds)), null, 2),
        awsManaged: false,
      })),
    ],
    attachments: [
      { policy: 'FullAWSAccess', target: 'root' },
      ...d.policies.flatMap((p) => p.targets.map((target) => ({ policy: p.name, target }))),
    ],
    roles: d.roles.map((r) => ({
      account: r.account,
      name: r.name,
      exists: true,
      trustedPrincipal: `arn:aws:iam::${id(r.trustedAccount)}:root`,
      externalId: r.externalId,
      managedPolicies: [...r.managedPolicies],
    })),
    budgets: d.budgets.map((b) => ({
      name: b.name,
      amount: b.amount,
      linkedAccountIds: b.scope === 'organization' ? [] : [id(b.scope)],
      notify: [...b.notify],
      costTypes: { ...b.costTypes! },
      actualSpend: 0,
    })),
    identityCenter: {
      instanceArn: 'arn:aws:sso:::instance/ssoins-1',
      identityStoreId: 'd-1',
      users: d.identityCenter!.users.map((u, i) => ({ userName: u.userName, id: `u-${i}` })),
      permissionSets: d.identityCenter!.permissionSets.map((p, i) => ({ ...p, arn: `ps-${i}` })),
      assignments: d.identityCenter!.assignments.map((a) => ({
        user: a.user,
        permissionSet: a.permissionSet,
        accountId: id(a.account),
      })),
    },
    cost: {
      allocationTags: d.cost.allocationTags.map((key) => ({ key, status: 'Active' })),
      anomalyMonitors: [d.cost.anomalyMonitor!.name],
    },
    notes: [],
  };
}

describe('planOrg', () => {
  it('plans the whole declared organization from nothing, in waves', () => {
    const live = emptyLive();
    live.tagPolicies = { enabled: false, policies: [], attachments: [] };
    const plan = planOrg(live, desired());
    const ids = plan.steps.map((s) => s.id);
    expect(ids[0]).toBe('createOrganization:ALL');
    expect(ids[1]).toBe('enableScpType:root');
    expect(ids.filter((i) => i.startsWith('createOu:'))).toEqual([
      'createOu:Platform',
      'createOu:Sandbox',
      'createOu:Security',
    ]);
    expect(ids.filter((i) => i.startsWith('createAccount:'))).toHaveLength(3);
    expect(ids.filter((i) => i.startsWith('moveAccount:'))).toHaveLength(3);
    expect(ids.filter((i) => i.startsWith('createPolicy:'))).toHaveLength(5);
    expect(ids.filter((i) => i.startsWith('attachPolicy:')).sort()).toEqual([
      'attachPolicy:DenyExpensiveServices->ou:Sandbox',
      'attachPolicy:DenyLargeEC2->ou:Sandbox',
      'attachPolicy:RegionLock->root',
      'attachPolicy:RestrictBedrockModels->ou:Sandbox',
    ]);
    expect(ids.filter((i) => i.startsWith('createBudget:'))).toHaveLength(4);
    expect(ids.filter((i) => i.startsWith('ensureRole:'))).toEqual([
      'ensureRole:sv0-security-tooling/SecurityV0-ReadOnly',
      'ensureRole:sv0-demo/sv0-orchestrator-deploy',
    ]);
    expect(ids.filter((i) => i.startsWith('ensurePermissionSet:'))).toHaveLength(3);
    expect(ids.filter((i) => i.startsWith('createAssignment:'))).toHaveLength(6);
    // Each wave only needs what earlier waves made.
    const order = waves(plan.steps).map((w) => w.map((s) => s.kind));
    expect(order[0]).toEqual(['createOrganization']);
    expect(order[1]).toEqual(['enableScpType', 'enableTagPolicyType']);
    expect(order[2]).toContain('createAccount');
    expect(order[3]).toContain('moveAccount');
    expect(order[3]).not.toContain('createAccount');
  });

  it('plans nothing when the organization matches the file', () => {
    const d = desired();
    const plan = planOrg(convergedLive(d), d);
    expect(plan.steps).toEqual([]);
    expect(plan.undeclared).toEqual([]);
    expect(plan.frozen).toEqual([]);
  });

  it('reports undeclared things and never plans to delete them', () => {
    const d = desired();
    const live = convergedLive(d);
    live.ous.push({ id: 'ou-x', name: 'Legacy' });
    live.accounts.push({
      id: '299999999999',
      name: 'old-test',
      email: 'old@securityv0.com',
      status: 'ACTIVE',
      parent: 'ou:Legacy',
      tags: {},
    });
    live.policies.push({ id: 'p-x', name: 'HandMade', description: '', content: '{}', awsManaged: false });
    live.attachments.push({ policy: 'HandMade', target: 'ou:Legacy' });
    live.budgets.push({ name: 'old-budget', amount: 10, linkedAccountIds: [], notify: [] });
    const plan = planOrg(live, d);
    expect(plan.steps).toEqual([]);
    expect(plan.undeclared.map((u) => `${u.kind}:${u.name}`)).toEqual([
      'ou:Legacy',
      'account:old-test',
      'scp:HandMade',
      'budget:old-budget',
    ]);
  });

  it('reports a FreezeAccount attachment as frozen and leaves it alone', () => {
    const d = desired();
    const live = convergedLive(d);
    live.attachments.push({ policy: 'FreezeAccount', target: 'account:sv0-demo' });
    const plan = planOrg(live, d);
    expect(plan.steps).toEqual([]);
    expect(plan.frozen).toEqual(['account:sv0-demo']);
  });

  it("reports a frozen account's roles as not read (the freeze denies the access role) instead of planning them", () => {
    const d = desired();
    const live = convergedLive(d);
    live.attachments.push({ policy: 'FreezeAccount', target: 'account:sv0-demo' });
    live.roles = live.roles.map((r) =>
      r.account === 'sv0-demo'
        ? { account: r.account, name: r.name, exists: false, managedPolicies: [], frozen: true }
        : r,
    );
    const plan = planOrg(live, d);
    expect(plan.steps).toEqual([]);
    expect(plan.frozen).toEqual(['account:sv0-demo']);
    expect(plan.notes).toEqual([
      'account sv0-demo is frozen (FreezeAccount attached): its roles were not read or changed, as the freeze denies OrganizationAccountAccessRole; everything else was checked from the management account',
    ]);
    // Other accounts are still compared: a missing role there is planned.
    live.roles = live.roles.map((r) => (r.account === 'sv0-security-tooling' ? { ...r, exists: false } : r));
    expect(planOrg(live, d).steps.map((s) => s.id)).toEqual([
      'ensureRole:sv0-security-tooling/SecurityV0-ReadOnly',
    ]);
  });

  it('converges a partly built organization: re-attaches a detached SCP, moves and tags accounts, updates a document', () => {
    const d = desired();
    const live = convergedLive(d);
    live.attachments = live.attachments.filter((a) => !(a.policy === 'DenyLargeEC2'));
    live.attachments.push({ policy: 'RegionLock', target: 'ou:Security' });
    live.accounts.find((a) => a.name === 'sv0-demo')!.parent = 'root';
    live.accounts.find((a) => a.name === 'sv0-platform')!.tags['sv0:owner'] = 'someone';
    live.policies.find((p) => p.name === 'RestrictBedrockModels')!.content =
      '{"Version":"2012-10-17","Statement":[]}';
    live.budgets.find((b) => b.name === 'total')!.notify = [50];
    live.roles.find((r) => r.name === 'sv0-orchestrator-deploy')!.externalId = 'old';
    const plan = planOrg(live, d);
    expect(plan.steps.map((s) => s.id).sort()).toEqual([
      'attachPolicy:DenyLargeEC2->ou:Sandbox',
      'createBudgetNotification:total@100',
      'createBudgetNotification:total@80',
      'detachPolicy:RegionLock->ou:Security',
      'ensureRole:sv0-demo/sv0-orchestrator-deploy',
      'moveAccount:sv0-demo',
      'tagAccount:sv0-platform',
      'updatePolicy:RestrictBedrockModels',
    ]);
    const tag = plan.steps.find((s) => s.kind === 'tagAccount');
    expect(tag).toMatchObject({ tags: { 'sv0:owner': 'ivan' } });
  });

  it('skips Identity Center with a note when there is no instance', () => {
    const d = desired();
    const live = convergedLive(d);
    delete live.identityCenter;
    const plan = planOrg(live, d);
    expect(plan.steps).toEqual([]);
    expect(plan.notes.join('\n')).toMatch(/no IAM Identity Center instance/);
  });

  it("activates sv0:demo with the other cost allocation tags, so each demo's cost can be read by its tag", () => {
    const d = desired();
    expect(d.cost.allocationTags).toContain('sv0:demo');
    const live = convergedLive(d);
    live.cost.allocationTags = d.cost.allocationTags.map((key) => ({
      key,
      status: key === 'sv0:demo' ? 'Inactive' : 'Active',
    }));
    expect(planOrg(live, d).steps.map((s) => s.id)).toEqual(['activateCostAllocationTags:sv0:demo']);
  });

  it('notes cost allocation tags AWS has not seen yet instead of planning them', () => {
    const d = desired();
    const live = convergedLive(d);
    live.cost.allocationTags = [{ key: 'sv0:project', status: 'Inactive' }];
    const plan = planOrg(live, d);
    expect(plan.steps.map((s) => s.id)).toEqual(['activateCostAllocationTags:sv0:project']);
    expect(plan.notes.join('\n')).toContain('not yet in billing data');
  });
});

describe('planDifference', () => {
  it('is undefined for the same plan and names what changed otherwise', () => {
    const d = desired();
    const a = planOrg(emptyLive(), d).steps;
    expect(planDifference(a, planOrg(emptyLive(), d).steps)).toBeUndefined();
    const live = emptyLive();
    live.ous.push({ id: 'ou-1', name: 'Sandbox' });
    expect(planDifference(a, planOrg(live, d).steps)).toBe('no longer needed: createOu:Sandbox');
  });
});

describe('planOrg and attachments it cannot name', () => {
  it('reports a declared SCP attached to an OU outside the file instead of detaching it', () => {
    const d = desired();
    const live = emptyLive();
    live.organization = { id: 'o-1', featureSet: 'ALL' };
    live.scpEnabled = true;
    live.policies.push({
      id: 'p-1',
      name: 'RegionLock',
      description: d.policies[0]!.description,
      content: d.policies[0]!.content,
      awsManaged: false,
    });
    live.attachments.push(
      { policy: 'RegionLock', target: 'ou-id:ou-nested-1' },
      { policy: 'RegionLock', target: 'ou:Platform' },
    );
    const plan = planOrg(live, d);
    expect(plan.steps.map((s) => s.id)).toContain('detachPolicy:RegionLock->ou:Platform');
    expect(plan.steps.map((s) => s.id).filter((id) => id.includes('ou-nested'))).toEqual([]);
    expect(plan.undeclared).toContainEqual({ kind: 'attachment', name: 'RegionLock->ou-id:ou-nested-1' });
  });

  describe('budget cost types', () => {
    /** The live org with sv0-demo's budget created the AWS way: credits, refunds and discounts counted. */
    function netDemoBudget(grossSpend: NonNullable<LiveOrg['budgets'][number]['grossSpend']>) {
      const d = desired();
      const live = convergedLive(d);
      const demo = live.budgets.find((b) => b.name === 'sv0-demo')!;
      demo.costTypes = { ...AWS_DEFAULT_COST_TYPES };
      demo.actualSpend = 0;
      demo.grossSpend = grossSpend;
      return { d, live };
    }

    it('creates every budget with explicit gross-spend cost types by default', () => {
      const d = desired();
      expect(d.budgets.map((b) => b.costTypes)).toEqual(d.budgets.map(() => GROSS_COST_TYPES));
      const plan = planOrg(emptyLive(), d);
      const create = plan.steps.find((s) => s.id === 'createBudget:sv0-demo');
      expect(create).toMatchObject({
        budget: { costTypes: { includeCredit: false, includeRefund: false, includeDiscount: false } },
      });
      expect(create?.summary).toContain('gross spend');
    });

    it('shows a live budget that counts credits as drift, naming the switches', () => {
      const { d, live } = netDemoBudget({ amount: 12 });
      const plan = planOrg(live, d);
      expect(plan.steps.map((s) => s.id)).toEqual(['updateBudget:sv0-demo']);
      expect(plan.steps[0]!.summary).toBe(
        'update budget sv0-demo: cost types includeRefund true -> false, includeCredit true -> false, includeDiscount true -> false',
      );
      expect(plan.steps[0]).toMatchObject({ budget: { costTypes: GROSS_COST_TYPES } });
      expect(plan.warnings).toEqual([]);
    });

    it('warns before apply when the switch to gross spend passes the freeze threshold at once', () => {
      const { d, live } = netDemoBudget({ amount: 412.5 });
      const plan = planOrg(live, d);
      expect(plan.warnings).toEqual(['sv0-demo will freeze now: gross spend $412.50 of $200']);
    });

    it('says so when the gross spend could not be read', () => {
      const { d, live } = netDemoBudget({
        unreadable: 'Cost Explorer GetCostAndUsage failed: AccessDeniedException',
      });
      const plan = planOrg(live, d);
      expect(plan.warnings).toEqual([
        'sv0-demo switches to gross spend, which could not be read (Cost Explorer GetCostAndUsage failed: AccessDeniedException): it may freeze as soon as this is applied',
      ]);
    });

    it('warns when a lower limit puts the spend past a freeze threshold below 100 %', () => {
      const d = desired();
      const demo = d.budgets.find((b) => b.name === 'sv0-demo')!;
      demo.freezeAt = 80;
      const live = convergedLive(d);
      const liveDemo = live.budgets.find((b) => b.name === 'sv0-demo')!;
      liveDemo.amount = 400;
      liveDemo.actualSpend = 170;
      const plan = planOrg(live, d);
      expect(plan.steps.map((s) => s.summary)).toEqual(['update budget sv0-demo: limit $400 -> $200/month']);
      expect(plan.warnings).toEqual([
        'sv0-demo will freeze now: spend $170.00 of $200 (freezes at 80 %, $160.00)',
      ]);
    });

    it('keeps a budget that declares net spend as it is, and does not compare one read without cost types', () => {
      const d = desired();
      const total = d.budgets.find((b) => b.name === 'total')!;
      total.costTypes = { ...total.costTypes!, includeCredit: true };
      const live = convergedLive(d);
      delete live.budgets.find((b) => b.name === 'sv0-platform')!.costTypes;
      expect(planOrg(live, d).steps).toEqual([]);
    });
  });
});

/**
 * Whether a principal escapes FreezeAccount: the deny applies unless an ArnNotEquals / ArnNotLike
 * condition on aws:PrincipalArn matches it (IAM's ArnLike: `*` and `?` match within an ARN).
 */
function escapesFreeze(content: string, principal: string): boolean {
  const glob = (pattern: string) =>
    new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    );
  const statement = JSON.parse(content).Statement[0];
  const conditions = Object.entries(statement.Condition ?? {}) as [string, Record<string, string[]>][];
  return conditions.some(([operator, keys]) => {
    const values = keys['aws:PrincipalArn'] ?? [];
    if (operator === 'ArnNotEquals') return values.includes(principal);
    if (operator === 'ArnNotLike') return values.some((v) => glob(v).test(principal));
    return false;
  });
}

describe("FreezeAccount's exemption", () => {
  const wildcard = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'FreezeAccount',
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: { ArnNotLike: { 'aws:PrincipalArn': ['arn:aws:iam::*:role/sv0-orchestrator-*'] } },
      },
    ],
  });

  it('names the deploy role of each live sandbox account exactly, so no other role escapes', () => {
    const d = desired();
    d.accounts.push({ ...d.accounts[1]!, name: 'sv0-demo-2', email: 'aws-sv0-demo-2@example.com' });
    const live = convergedLive(d);
    const demo = live.accounts.find((a) => a.name === 'sv0-demo')!.id;
    const demo2 = live.accounts.find((a) => a.name === 'sv0-demo-2')!.id;
    live.policies.find((p) => p.name === 'FreezeAccount')!.content = wildcard;

    const plan = planOrg(live, d);
    const update = plan.steps.find((s) => s.id === 'updatePolicy:FreezeAccount');
    expect(update?.kind).toBe('updatePolicy');
    const content = (update as { content: string }).content;
    expect(JSON.parse(content).Statement[0].Condition).toEqual({
      ArnNotEquals: {
        'aws:PrincipalArn': [
          `arn:aws:iam::${demo}:role/sv0-orchestrator-deploy`,
          `arn:aws:iam::${demo2}:role/sv0-orchestrator-deploy`,
        ],
      },
    });
    expect(update?.summary).toBe(
      `update SCP FreezeAccount (exempt arn:aws:iam::${demo}:role/sv0-orchestrator-deploy, arn:aws:iam::${demo2}:role/sv0-orchestrator-deploy; was arn:aws:iam::*:role/sv0-orchestrator-*)`,
    );

    // A role any sandbox principal could create escapes the wildcard, not the planned document.
    const escape = `arn:aws:iam::${demo}:role/sv0-orchestrator-escape`;
    expect(escapesFreeze(wildcard, escape)).toBe(true);
    expect(escapesFreeze(content, escape)).toBe(false);
    expect(escapesFreeze(content, `arn:aws:iam::${demo}:role/sv0-orchestrator-deploy`)).toBe(true);
    expect(escapesFreeze(content, `arn:aws:iam::${MGMT}:role/sv0-orchestrator-deploy`)).toBe(false);
    expect(escapesFreeze(content, `arn:aws:iam::${demo}:role/OrganizationAccountAccessRole`)).toBe(false);
  });

  it('plans nothing once the live policy has the exact ARNs', () => {
    const d = desired();
    expect(planOrg(convergedLive(d), d).steps.filter((s) => s.id.includes('FreezeAccount'))).toEqual([]);
  });

  it('writes in a sandbox account created by the same apply in a later step, naming the accounts, never a missing id', () => {
    const d = desired();
    d.accounts.push({ ...d.accounts[1]!, name: 'sv0-demo-2', email: 'aws-sv0-demo-2@example.com' });
    const live = convergedLive(d);
    live.accounts = live.accounts.filter((a) => a.name !== 'sv0-demo-2');
    const plan = planOrg(live, d);
    const create = plan.steps.find((s) => s.id === 'createAccount:sv0-demo-2')!;
    const update = plan.steps.find((s) => s.id === 'updatePolicy:FreezeAccount')!;
    expect(update).toMatchObject({
      exemptAccounts: ['sv0-demo', 'sv0-demo-2'],
      summary:
        'update SCP FreezeAccount (exempt the deploy role of sv0-demo, sv0-demo-2 by exact ARN, ids written in once the accounts exist)',
    });
    expect(update.wave).toBeGreaterThan(create.wave);
    expect((update as { content: string }).content).toContain(
      'arn:aws:iam::<sandbox-account-id>:role/sv0-orchestrator-deploy',
    );
  });

  it('creates FreezeAccount after the accounts in a fresh organization', () => {
    const plan = planOrg(emptyLive(), desired());
    const create = plan.steps.find((s) => s.id === 'createPolicy:FreezeAccount')!;
    const accounts = plan.steps.filter((s) => s.kind === 'createAccount');
    expect(create).toMatchObject({ exemptAccounts: ['sv0-demo'] });
    expect(accounts.every((a) => a.wave < create.wave)).toBe(true);
    // The other policies keep their wave: the accounts' attachments need them.
    expect(plan.steps.find((s) => s.id === 'createPolicy:RegionLock')!.wave).toBe(accounts[0]!.wave);
  });
});

describe("the budget freeze's AWS-side backstop", () => {
  const TOPIC_ARN = `arn:aws:sns:us-east-1:${MGMT}:sv0-budget-alerts`;
  const ROLE_ARN = `arn:aws:iam::${MGMT}:role/sv0-budgets-freeze`;

  /** The backstop exactly as declared, on top of a converged organization. */
  function withBackstop(d: DesiredOrg): LiveOrg {
    const live = convergedLive(d);
    const demoId = live.accounts.find((a) => a.name === 'sv0-demo')!.id;
    const freezeId = live.policies.find((p) => p.name === 'FreezeAccount')!.id;
    live.backstop = {
      topic: { arn: TOPIC_ARN, exists: true, policy: alertsTopicPolicy(MGMT, TOPIC_ARN) },
      freezeRole: {
        exists: true,
        trustPolicy: budgetsFreezeTrustPolicy(MGMT),
        policy: budgetsFreezeRolePolicy(MGMT, [demoId]),
      },
      subscribed: Object.fromEntries(d.budgets.map((b) => [b.name, [...b.notify]])),
      actions: [
        {
          budget: 'sv0-demo',
          actionId: 'a-1',
          actionType: 'APPLY_SCP_POLICY',
          notificationType: 'ACTUAL',
          threshold: 100,
          thresholdType: 'PERCENTAGE',
          approvalModel: 'AUTOMATIC',
          status: 'STANDBY',
          policyId: freezeId,
          targetIds: [demoId],
          executionRoleArn: ROLE_ARN,
          subscribers: [TOPIC_ARN, 'billing@example.com'],
        },
      ],
      anomalySubscriptions: [
        { name: 'sv0-services-alerts', monitorArns: ['arn:aws:ce::1:anomalymonitor/1'], sns: [TOPIC_ARN] },
      ],
    };
    return live;
  }

  it('from nothing: the topic, the role, an automatic freeze action for the one budget with freezeAt, the anomaly subscription; budgets created with the topic', () => {
    const live = emptyLive();
    live.backstop = {
      topic: { arn: TOPIC_ARN, exists: false },
      freezeRole: { exists: false },
      subscribed: {},
      actions: [],
      anomalySubscriptions: [],
    };
    const plan = planOrg(live, desired());
    const backstop = plan.steps.filter((s) =>
      [
        'ensureAlertsTopic',
        'ensureFreezeRole',
        'ensureFreezeAction',
        'ensureAnomalySubscription',
        'subscribeBudgetAlerts',
      ].includes(s.kind),
    );
    expect(backstop.map((s) => [s.id, s.wave])).toEqual([
      ['ensureAlertsTopic:sv0-budget-alerts', 2],
      ['ensureFreezeRole:sv0-budgets-freeze', 3],
      ['ensureAnomalySubscription:sv0-services-alerts', 3],
      ['ensureFreezeAction:sv0-demo', 4],
    ]);
    const action = plan.steps.find((s) => s.kind === 'ensureFreezeAction')!;
    expect(action).toMatchObject({
      budget: 'sv0-demo',
      account: 'sv0-demo',
      freezeAt: 100,
      role: 'sv0-budgets-freeze',
      topic: 'sv0-budget-alerts',
      sandboxAccounts: ['sv0-demo'],
    });
    expect(action).not.toHaveProperty('actionId');
    expect(plan.steps.find((s) => s.kind === 'ensureFreezeRole')).toMatchObject({
      sandboxAccounts: ['sv0-demo'],
      create: true,
    });
    for (const s of plan.steps.filter((x) => x.kind === 'createBudget'))
      expect(s).toMatchObject({ alertsTopic: 'sv0-budget-alerts' });
    // The action comes after the budget, the role and FreezeAccount exist.
    const wave = (id: string) => plan.steps.find((s) => s.id === id)!.wave;
    expect(wave('ensureFreezeAction:sv0-demo')).toBeGreaterThan(wave('createBudget:sv0-demo'));
    expect(wave('ensureFreezeAction:sv0-demo')).toBeGreaterThan(wave('createPolicy:FreezeAccount'));
  });

  it('plans nothing when the backstop is as declared; an action AWS executed is a note, not drift', () => {
    const d = desired();
    const live = withBackstop(d);
    expect(planOrg(live, d).steps).toEqual([]);
    live.backstop!.actions![0]!.status = 'EXECUTION_SUCCESS';
    const plan = planOrg(live, d);
    expect(plan.steps).toEqual([]);
    expect(plan.notes).toEqual([
      'the AWS Budgets action of sv0-demo is EXECUTION_SUCCESS: FreezeAccount was attached to sv0-demo by AWS Budgets; `sv0 budget unfreeze sv0-demo` reverses it',
    ]);
  });

  it('shows a changed action, a lost subscription, a loosened role and an open topic as drift, and reports an undeclared action', () => {
    const d = desired();
    const live = withBackstop(d);
    const b = live.backstop!;
    Object.assign(b.actions![0]!, { threshold: 150, approvalModel: 'MANUAL', targetIds: ['999999999999'] });
    b.actions!.push({ ...b.actions![0]!, budget: 'sv0-platform', actionId: 'a-2' });
    b.subscribed!.total = [50];
    b.freezeRole.policy = budgetsFreezeRolePolicy(MGMT, ['999999999999']);
    b.topic.policy = JSON.stringify({ Version: '2012-10-17', Statement: [] });
    const plan = planOrg(live, d);
    expect(plan.steps.map((s) => s.id).sort()).toEqual([
      'ensureAlertsTopic:sv0-budget-alerts',
      'ensureFreezeAction:sv0-demo',
      'ensureFreezeRole:sv0-budgets-freeze',
      'subscribeBudgetAlerts:total',
    ]);
    const action = plan.steps.find((s) => s.kind === 'ensureFreezeAction')!;
    expect(action).toMatchObject({ actionId: 'a-1' });
    expect(action.summary).toBe(
      `update the AWS Budgets action of sv0-demo: threshold 150 % -> 100 %; approval MANUAL -> AUTOMATIC; targets 999999999999 -> ${live.accounts.find((a) => a.name === 'sv0-demo')!.id}`,
    );
    expect(plan.steps.find((s) => s.kind === 'subscribeBudgetAlerts')).toMatchObject({
      thresholds: [80, 100],
    });
    expect(plan.steps.find((s) => s.kind === 'ensureFreezeRole')).toMatchObject({ create: false });
    expect(plan.undeclared).toContainEqual({
      kind: 'budget-action',
      name: 'sv0-platform/a-2',
      detail: 'APPLY_SCP_POLICY',
    });
  });

  it('plans none of it from results recorded before it existed, or where an API is unavailable (moto)', () => {
    const d = desired();
    const old = emptyLive();
    expect(old.backstop).toBeUndefined();
    const plan = planOrg(old, d);
    expect(
      plan.steps.some((s) =>
        /^(ensure(AlertsTopic|FreezeRole|FreezeAction|AnomalySubscription)|subscribeBudgetAlerts):/.test(
          s.id,
        ),
      ),
    ).toBe(false);
    for (const s of plan.steps.filter((x) => x.kind === 'createBudget'))
      expect(s).not.toHaveProperty('alertsTopic');

    const moto = withBackstop(d);
    delete moto.backstop!.actions;
    delete moto.backstop!.subscribed;
    delete moto.backstop!.anomalySubscriptions;
    moto.backstop!.freezeRole = { exists: false };
    expect(planOrg(moto, d).steps.map((s) => s.id)).toEqual(['ensureFreezeRole:sv0-budgets-freeze']);
  });
});

describe('the tag policy', () => {
  /** The live organization as declared, tag policy included. */
  function withTagPolicy(d: DesiredOrg): LiveOrg {
    const live = convergedLive(d);
    const p = d.tagPolicy!;
    live.tagPolicies = {
      enabled: true,
      policies: [
        // Same document, different layout: not a change.
        {
          id: 'p-tag',
          name: p.name,
          description: p.description,
          content: JSON.stringify(JSON.parse(p.content), null, 2),
          awsManaged: false,
        },
      ],
      attachments: p.targets.map((target) => ({ policy: p.name, target })),
    };
    return live;
  }

  it('is built from org.yaml: one statement per sv0 key with the declared values, sv0:project allowing demo-*, and no per-demo key', () => {
    const d = desired();
    expect(d.tagPolicy).toMatchObject({ name: 'sv0-tags', targets: ['root'] });
    expect(JSON.parse(d.tagPolicy!.content)).toEqual({
      tags: {
        'sv0:environment': {
          tag_key: { '@@assign': 'sv0:environment' },
          tag_value: { '@@assign': ['prod', 'dev', 'demo', 'test'] },
        },
        'sv0:project': {
          tag_key: { '@@assign': 'sv0:project' },
          tag_value: { '@@assign': ['platform', 'connector-test', 'demo-*'] },
        },
        'sv0:owner': {
          tag_key: { '@@assign': 'sv0:owner' },
          tag_value: { '@@assign': ['ivan', 'automated', 'demo-script'] },
        },
        'sv0:ephemeral': {
          tag_key: { '@@assign': 'sv0:ephemeral' },
          tag_value: { '@@assign': ['true', 'false'] },
        },
      },
    });
  });

  it('from nothing: enables the policy type, creates the policy and attaches it to the root, in waves', () => {
    const d = desired();
    const live = emptyLive();
    live.tagPolicies = { enabled: false, policies: [], attachments: [] };
    const plan = planOrg(live, d);
    const tagSteps = plan.steps.filter((s) => /TagPolicy/.test(s.kind));
    expect(tagSteps.map((s) => [s.id, s.wave])).toEqual([
      ['enableTagPolicyType:root', 1],
      ['createTagPolicy:sv0-tags', 2],
      ['attachTagPolicy:sv0-tags->root', 3],
    ]);
    expect(tagSteps[1]!.summary).toContain('sv0:owner: ivan, automated, demo-script');
  });

  it('plans nothing when the live policy is as declared', () => {
    const d = desired();
    const plan = planOrg(withTagPolicy(d), d);
    expect(plan.steps).toEqual([]);
    expect(plan.undeclared).toEqual([]);
  });

  it('shows a changed live document as drift naming the values, detaches it from an undeclared target, and reports other tag policies', () => {
    const d = desired();
    const live = withTagPolicy(d);
    const doc = JSON.parse(d.tagPolicy!.content);
    doc.tags['sv0:owner'].tag_value['@@assign'] = ['ivan', 'mallory'];
    live.tagPolicies!.policies[0]!.content = JSON.stringify(doc);
    live.tagPolicies!.attachments.push(
      { policy: 'sv0-tags', target: 'ou:Sandbox' },
      { policy: 'sv0-tags', target: 'ou-id:ou-nested-1' },
    );
    live.tagPolicies!.policies.push({
      id: 'p-x',
      name: 'HandMadeTags',
      description: '',
      content: '{"tags":{}}',
      awsManaged: false,
    });
    const plan = planOrg(live, d);
    expect(plan.steps.map((s) => s.id)).toEqual([
      'updateTagPolicy:sv0-tags',
      'detachTagPolicy:sv0-tags->ou:Sandbox',
    ]);
    expect(plan.steps[0]!.summary).toBe(
      'update tag policy sv0-tags (sv0:owner: ivan, automated, demo-script; was ivan, mallory)',
    );
    expect(plan.steps[0]).toMatchObject({ content: d.tagPolicy!.content });
    expect(plan.undeclared).toEqual([
      { kind: 'tag policy attachment', name: 'sv0-tags->ou-id:ou-nested-1' },
      { kind: 'tag policy', name: 'HandMadeTags', detail: 'not attached' },
    ]);
  });

  it('re-enables a disabled policy type and re-attaches a detached policy', () => {
    const d = desired();
    const live = withTagPolicy(d);
    live.tagPolicies!.enabled = false;
    live.tagPolicies!.attachments = [];
    expect(planOrg(live, d).steps.map((s) => s.id)).toEqual([
      'enableTagPolicyType:root',
      'attachTagPolicy:sv0-tags->root',
    ]);
  });

  it('plans none of it from results recorded before tag policies were read, or without a declared policy', () => {
    const d = desired();
    const live = convergedLive(d);
    expect(live.tagPolicies).toBeUndefined();
    expect(planOrg(live, d).steps).toEqual([]);
    const undeclared = withTagPolicy(d);
    delete d.tagPolicy;
    expect(planOrg(undeclared, d).steps).toEqual([]);
  });
});
