import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBudgetsConfig, loadOrgConfig } from '../../lib/runtime/config';
import { buildDesiredOrg } from '../../lib/org/desired';
import { planDifference, planOrg, waves } from '../../lib/org/plan';
import { type DesiredOrg, type LiveOrg, targetRef } from '../../lib/org/types';

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
        content: JSON.stringify(JSON.parse(p.content), null, 2),
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
    const plan = planOrg(emptyLive(), desired());
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
    expect(order[1]).toEqual(['enableScpType']);
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
});
