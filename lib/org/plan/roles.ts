/** Cross-account roles, in accounts that exist now or are created by the same plan. */
import type { DesiredOrg, LiveOrg } from '../types';
import { findAccount, step, type PlanDraft } from './steps';

/** Create each declared role, or update its trust policy and managed policies when they differ. */
export function planRoles(live: LiveOrg, desired: DesiredOrg, plan: PlanDraft): void {
  const trustedId = (name: string) =>
    name === 'management' ? live.managementAccountId : findAccount(live, name)?.id;
  const frozenNoted = new Set<string>();
  for (const r of desired.roles) {
    const found = live.roles.find((l) => l.account === r.account && l.name === r.name);
    const key = `${r.account}/${r.name}`;
    if (found?.frozen) {
      // Nothing can be read or changed in the account through its access role until it is unfrozen.
      if (!frozenNoted.has(r.account))
        plan.notes.push(
          `account ${r.account} is frozen (FreezeAccount attached): its roles were not read or changed, as the freeze denies OrganizationAccountAccessRole; everything else was checked from the management account`,
        );
      frozenNoted.add(r.account);
      continue;
    }
    if (!found?.exists) {
      plan.steps.push(
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
      plan.steps.push(
        step(
          { kind: 'ensureRole', role: r, create: false },
          key,
          `update role ${r.name} in ${r.account}: ${what}`,
        ),
      );
    }
  }
}
