/** IAM Identity Center: users, permission sets and account assignments, once an instance exists. */
import type { DesiredOrg, LiveOrg } from '../types';
import { findAccount, step, type PlanDraft } from './steps';

/** Create missing users, permission sets and assignments; report what is undeclared. */
export function planIdentityCenter(live: LiveOrg, desired: DesiredOrg, plan: PlanDraft): void {
  const want = desired.identityCenter;
  if (!want) return;
  const ic = live.identityCenter;
  if (!ic) {
    // Enabling an organization instance of Identity Center has no API: a person does it once.
    if (!live.notes.some((n) => n.includes('Identity Center'))) {
      plan.notes.push(
        'no IAM Identity Center instance: enable it once in the console; users, permission sets and assignments are skipped',
      );
    }
    return;
  }
  for (const u of want.users) {
    if (!ic.users.some((l) => l.userName === u.userName))
      plan.steps.push(
        step({ kind: 'createUser', user: u }, u.userName, `create Identity Center user ${u.userName}`),
      );
  }
  const declaredSets = new Set(want.permissionSets.map((p) => p.name));
  for (const p of want.permissionSets) {
    const found = ic.permissionSets.find((l) => l.name === p.name);
    if (!found) {
      plan.steps.push(
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
      plan.steps.push(
        step(
          { kind: 'ensurePermissionSet', permissionSet: p, create: false },
          p.name,
          `update permission set ${p.name}`,
        ),
      );
    }
  }
  for (const l of ic.permissionSets)
    if (!declaredSets.has(l.name)) plan.undeclared.push({ kind: 'permission-set', name: l.name });
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
      plan.steps.push(
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
      plan.undeclared.push({ kind: 'assignment', name: `${l.user}/${l.permissionSet}/${l.accountId}` });
    }
  }
}
