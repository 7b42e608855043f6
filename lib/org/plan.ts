import { FREEZE_POLICY_NAME } from '../names';
import {
  type DesiredOrg,
  type LiveAccount,
  type LiveOrg,
  type OrgPlan,
  type PlanStep,
  type StepAction,
  type StepKind,
  type TargetRef,
  targetRef,
} from './types';

/**
 * The order of the seed's runbook as waves: the organization, then the SCP type, then what stands
 * alone (OUs, policies, accounts, permission sets, users, cost settings), then what joins two
 * things (moves, attachments, tags, roles, budgets, assignments). Steps of one wave are independent.
 */
const WAVE: Record<StepKind, number> = {
  createOrganization: 0,
  enableScpType: 1,
  createOu: 2,
  createPolicy: 2,
  updatePolicy: 2,
  createAccount: 2,
  ensurePermissionSet: 2,
  createUser: 2,
  activateCostAllocationTags: 2,
  createAnomalyMonitor: 2,
  moveAccount: 3,
  tagAccount: 3,
  attachPolicy: 3,
  detachPolicy: 3,
  ensureRole: 3,
  createBudget: 3,
  updateBudget: 3,
  createBudgetNotification: 3,
  createAssignment: 3,
};

function step(action: StepAction, key: string, summary: string): PlanStep {
  return { ...action, id: `${action.kind}:${key}`, wave: WAVE[action.kind], summary };
}

/** Canonical JSON (sorted keys), so documents that differ only in layout compare equal. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function sameDocument(a: string, b: string): boolean {
  try {
    return canonicalJson(JSON.parse(a)) === canonicalJson(JSON.parse(b));
  } catch {
    return a === b;
  }
}

/** The live account a declared one is: same name, else same email (AWS keys accounts on email). */
function findAccount(live: LiveOrg, name: string, email?: string): LiveAccount | undefined {
  return (
    live.accounts.find((a) => a.name === name) ??
    (email ? live.accounts.find((a) => a.email.toLowerCase() === email.toLowerCase()) : undefined)
  );
}

/**
 * Live state + desired state -> ordered steps. Pure and deterministic (it runs inside workflows).
 * Unchanged state plans nothing; what exists undeclared is reported, never deleted; FreezeAccount
 * attachments are reported as frozen and never touched.
 */
export function planOrg(live: LiveOrg, desired: DesiredOrg): OrgPlan {
  const steps: PlanStep[] = [];
  const undeclared: OrgPlan['undeclared'] = [];
  const frozen: TargetRef[] = [];
  const notes = [...live.notes];

  if (!live.organization)
    steps.push(step({ kind: 'createOrganization' }, 'ALL', 'create the organization (all features)'));
  else if (live.organization.featureSet !== 'ALL') {
    notes.push(
      'the organization has only consolidated billing; enable all features in the console (SCPs need them)',
    );
  }
  if (!live.scpEnabled)
    steps.push(step({ kind: 'enableScpType' }, 'root', 'enable service control policies on the root'));

  // OUs
  const declaredOus = new Set(desired.organizationalUnits);
  for (const ou of desired.organizationalUnits) {
    if (!live.ous.some((o) => o.name === ou))
      steps.push(step({ kind: 'createOu', ou }, ou, `create OU ${ou}`));
  }
  for (const o of live.ous)
    if (!declaredOus.has(o.name)) undeclared.push({ kind: 'ou', name: o.name, detail: o.id });

  // Accounts: create (lands in the root, with its tags), move, tag.
  const matched = new Set<string>();
  for (const a of desired.accounts) {
    const found = findAccount(live, a.name, a.email);
    const to = targetRef.ou(a.ou);
    if (!found) {
      steps.push(
        step(
          { kind: 'createAccount', account: a.name, email: a.email, tags: a.tags },
          a.name,
          `create account ${a.name} (${a.email})`,
        ),
      );
      steps.push(
        step(
          { kind: 'moveAccount', account: a.name, email: a.email, to: a.ou },
          a.name,
          `move account ${a.name} to OU ${a.ou}`,
        ),
      );
      continue;
    }
    matched.add(found.id);
    if (found.name !== a.name)
      notes.push(
        `account ${found.id} is named "${found.name}" in AWS and "${a.name}" in org.yaml (matched by email)`,
      );
    if (found.status !== 'ACTIVE') notes.push(`account ${a.name} (${found.id}) is ${found.status}`);
    if (found.parent !== to) {
      steps.push(
        step(
          { kind: 'moveAccount', account: a.name, email: a.email, to: a.ou },
          a.name,
          `move account ${a.name} from ${found.parent} to OU ${a.ou}`,
        ),
      );
    }
    const changed = Object.fromEntries(Object.entries(a.tags).filter(([k, v]) => found.tags[k] !== v));
    if (Object.keys(changed).length > 0) {
      steps.push(
        step(
          { kind: 'tagAccount', account: a.name, email: a.email, tags: changed },
          a.name,
          `tag account ${a.name}: ${Object.entries(changed)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ')}`,
        ),
      );
    }
  }
  for (const a of live.accounts) {
    if (a.id !== live.managementAccountId && !matched.has(a.id))
      undeclared.push({ kind: 'account', name: a.name, detail: `${a.id} ${a.email}` });
  }

  // SCPs: create or update content, then make the attachments match the declared targets.
  const declaredPolicies = new Set(desired.policies.map((p) => p.name));
  for (const p of desired.policies) {
    const found = live.policies.find((l) => l.name === p.name && !l.awsManaged);
    if (!found) {
      steps.push(
        step(
          { kind: 'createPolicy', policy: p.name, description: p.description, content: p.content },
          p.name,
          `create SCP ${p.name}`,
        ),
      );
    } else if (!sameDocument(found.content, p.content) || found.description !== p.description) {
      steps.push(
        step(
          { kind: 'updatePolicy', policy: p.name, description: p.description, content: p.content },
          p.name,
          `update SCP ${p.name} (document or description differs)`,
        ),
      );
    }
    const attached = live.attachments.filter((x) => x.policy === p.name).map((x) => x.target);
    if (p.name === FREEZE_POLICY_NAME) {
      // The budget guard owns these: report, never attach or detach.
      frozen.push(...attached);
      continue;
    }
    for (const t of p.targets) {
      if (!attached.includes(t))
        steps.push(
          step(
            { kind: 'attachPolicy', policy: p.name, target: t },
            `${p.name}->${t}`,
            `attach SCP ${p.name} to ${t}`,
          ),
        );
    }
    // The file lists every target of a policy it declares, so an extra attachment is undone.
    for (const t of attached) {
      if (p.targets.includes(t)) continue;
      // A target this file cannot name (a nested OU, an undeclared account) is reported, not touched.
      if (t === targetRef.root || t.startsWith('ou:') || t.startsWith('account:')) {
        steps.push(
          step(
            { kind: 'detachPolicy', policy: p.name, target: t },
            `${p.name}->${t}`,
            `detach SCP ${p.name} from ${t} (not a declared target)`,
          ),
        );
      } else undeclared.push({ kind: 'attachment', name: `${p.name}->${t}` });
    }
  }
  if (!declaredPolicies.has(FREEZE_POLICY_NAME)) {
    frozen.push(...live.attachments.filter((x) => x.policy === FREEZE_POLICY_NAME).map((x) => x.target));
  }
  for (const p of live.policies) {
    if (!p.awsManaged && !declaredPolicies.has(p.name)) {
      const targets = live.attachments.filter((x) => x.policy === p.name).map((x) => x.target);
      undeclared.push({
        kind: 'scp',
        name: p.name,
        detail: targets.length ? `attached to ${targets.join(', ')}` : 'not attached',
      });
    }
  }

  // Cross-account roles, in accounts that exist now or are created above.
  const trustedId = (name: string) =>
    name === 'management' ? live.managementAccountId : findAccount(live, name)?.id;
  for (const r of desired.roles) {
    const found = live.roles.find((l) => l.account === r.account && l.name === r.name);
    const key = `${r.account}/${r.name}`;
    if (!found?.exists) {
      steps.push(
        step(
          { kind: 'ensureRole', role: r, create: true },
          key,
          `create role ${r.name} in ${r.account}, trusted by ${r.trustedAccount} with an external id`,
        ),
      );
      continue;
    }
    const id = trustedId(r.trustedAccount);
    const trustOk =
      id !== undefined &&
      found.trustedPrincipal === `arn:aws:iam::${id}:root` &&
      found.externalId === r.externalId;
    const missing = r.managedPolicies.filter((m) => !found.managedPolicies.includes(m));
    if (!trustOk || missing.length > 0) {
      const what = [!trustOk ? 'trust policy' : '', missing.length ? `policies ${missing.join(', ')}` : '']
        .filter(Boolean)
        .join(' and ');
      steps.push(
        step(
          { kind: 'ensureRole', role: r, create: false },
          key,
          `update role ${r.name} in ${r.account}: ${what}`,
        ),
      );
    }
  }

  planBudgets(live, desired, steps, undeclared);
  planIdentityCenter(live, desired, steps, undeclared, notes);
  planCost(live, desired, steps, notes);

  steps.sort((a, b) => a.wave - b.wave);
  return { managementAccountId: live.managementAccountId, steps, undeclared, frozen, notes };
}

function planBudgets(
  live: LiveOrg,
  desired: DesiredOrg,
  steps: PlanStep[],
  undeclared: OrgPlan['undeclared'],
): void {
  const declared = new Set(desired.budgets.map((b) => b.name));
  for (const b of desired.budgets) {
    const found = live.budgets.find((l) => l.name === b.name);
    if (!found) {
      steps.push(
        step(
          { kind: 'createBudget', budget: b },
          b.name,
          `create budget ${b.name}: $${b.amount}/month, notify at ${b.notify.join(', ')} %`,
        ),
      );
      continue;
    }
    const scopeId =
      b.scope === 'organization'
        ? undefined
        : b.scope === 'management'
          ? live.managementAccountId
          : findAccount(live, b.scope)?.id;
    const scopeOk =
      scopeId === undefined
        ? found.linkedAccountIds.length === 0
        : found.linkedAccountIds.length === 1 && found.linkedAccountIds[0] === scopeId;
    if (found.amount !== b.amount || !scopeOk) {
      steps.push(
        step(
          { kind: 'updateBudget', budget: b },
          b.name,
          `update budget ${b.name}: $${b.amount}/month for ${b.scope}`,
        ),
      );
    }
    for (const t of b.notify) {
      if (!found.notify.includes(t)) {
        steps.push(
          step(
            { kind: 'createBudgetNotification', budget: b.name, threshold: t, subscribers: b.subscribers },
            `${b.name}@${t}`,
            `notify ${b.subscribers.join(', ')} at ${t} % of budget ${b.name}`,
          ),
        );
      }
    }
    for (const t of found.notify)
      if (!b.notify.includes(t)) undeclared.push({ kind: 'budget-notification', name: `${b.name}@${t}` });
  }
  for (const l of live.budgets)
    if (!declared.has(l.name))
      undeclared.push({ kind: 'budget', name: l.name, detail: `$${l.amount}/month` });
}

function planIdentityCenter(
  live: LiveOrg,
  desired: DesiredOrg,
  steps: PlanStep[],
  undeclared: OrgPlan['undeclared'],
  notes: string[],
): void {
  const want = desired.identityCenter;
  if (!want) return;
  const ic = live.identityCenter;
  if (!ic) {
    // Enabling an organization instance of Identity Center has no API: a person does it once.
    if (!live.notes.some((n) => n.includes('Identity Center'))) {
      notes.push(
        'no IAM Identity Center instance: enable it once in the console; users, permission sets and assignments are skipped',
      );
    }
    return;
  }
  for (const u of want.users) {
    if (!ic.users.some((l) => l.userName === u.userName))
      steps.push(
        step({ kind: 'createUser', user: u }, u.userName, `create Identity Center user ${u.userName}`),
      );
  }
  const declaredSets = new Set(want.permissionSets.map((p) => p.name));
  for (const p of want.permissionSets) {
    const found = ic.permissionSets.find((l) => l.name === p.name);
    if (!found) {
      steps.push(
        step(
          { kind: 'ensurePermissionSet', permissionSet: p, create: true },
          p.name,
          `create permission set ${p.name} (${p.managedPolicies.join(', ')})`,
        ),
      );
    } else if (
      found.description !== p.description ||
      found.sessionDuration !== p.sessionDuration ||
      p.managedPolicies.some((m) => !found.managedPolicies.includes(m))
    ) {
      steps.push(
        step(
          { kind: 'ensurePermissionSet', permissionSet: p, create: false },
          p.name,
          `update permission set ${p.name}`,
        ),
      );
    }
  }
  for (const l of ic.permissionSets)
    if (!declaredSets.has(l.name)) undeclared.push({ kind: 'permission-set', name: l.name });
  const accountId = (name: string) =>
    name === 'management' ? live.managementAccountId : findAccount(live, name)?.id;
  const declaredAssignments = new Set<string>();
  for (const a of want.assignments) {
    const id = accountId(a.account);
    if (id) declaredAssignments.add(`${a.user}/${a.permissionSet}/${id}`);
    const exists =
      id !== undefined &&
      ic.assignments.some(
        (l) => l.user === a.user && l.permissionSet === a.permissionSet && l.accountId === id,
      );
    if (!exists) {
      const key = `${a.user}/${a.permissionSet}/${a.account}`;
      steps.push(
        step(
          { kind: 'createAssignment', assignment: a },
          key,
          `assign ${a.user} ${a.permissionSet} in ${a.account}`,
        ),
      );
    }
  }
  for (const l of ic.assignments) {
    if (!declaredAssignments.has(`${l.user}/${l.permissionSet}/${l.accountId}`)) {
      undeclared.push({ kind: 'assignment', name: `${l.user}/${l.permissionSet}/${l.accountId}` });
    }
  }
}

function planCost(live: LiveOrg, desired: DesiredOrg, steps: PlanStep[], notes: string[]): void {
  const tags = live.cost.allocationTags;
  if (desired.cost.allocationTags.length > 0 && tags) {
    const inactive = desired.cost.allocationTags.filter((k) =>
      tags.some((t) => t.key === k && t.status !== 'Active'),
    );
    const unseen = desired.cost.allocationTags.filter((k) => !tags.some((t) => t.key === k));
    if (inactive.length > 0) {
      steps.push(
        step(
          { kind: 'activateCostAllocationTags', tags: inactive },
          inactive.join(','),
          `activate cost allocation tags ${inactive.join(', ')}`,
        ),
      );
    }
    if (unseen.length > 0)
      notes.push(
        `cost allocation tags not yet in billing data (activated on a later run): ${unseen.join(', ')}`,
      );
  }
  const monitor = desired.cost.anomalyMonitor;
  if (monitor && live.cost.anomalyMonitors && !live.cost.anomalyMonitors.includes(monitor.name)) {
    steps.push(
      step(
        { kind: 'createAnomalyMonitor', name: monitor.name },
        monitor.name,
        `create Cost Anomaly Detection monitor ${monitor.name} (per AWS service)`,
      ),
    );
  }
}

/** Group steps into their waves, in order; a wave's steps are independent of each other. */
export function waves(steps: PlanStep[]): PlanStep[][] {
  const byWave = new Map<number, PlanStep[]>();
  for (const s of steps) byWave.set(s.wave, [...(byWave.get(s.wave) ?? []), s]);
  return [...byWave.entries()].sort(([a], [b]) => a - b).map(([, list]) => list);
}

/**
 * Compare the plan the operator approved with the plan the live state gives now. Returns a
 * description of the difference, or undefined when they are the same plan.
 */
export function planDifference(approved: PlanStep[], current: PlanStep[]): string | undefined {
  const key = (s: PlanStep) => canonicalJson(s);
  const a = new Map(approved.map((s) => [s.id, key(s)]));
  const c = new Map(current.map((s) => [s.id, key(s)]));
  const added = [...c.keys()].filter((id) => !a.has(id));
  const removed = [...a.keys()].filter((id) => !c.has(id));
  const changed = [...c.keys()].filter((id) => a.has(id) && a.get(id) !== c.get(id));
  if (!added.length && !removed.length && !changed.length) return undefined;
  return [
    added.length ? `new steps: ${added.join(', ')}` : '',
    removed.length ? `no longer needed: ${removed.join(', ')}` : '',
    changed.length ? `changed: ${changed.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('; ');
}
