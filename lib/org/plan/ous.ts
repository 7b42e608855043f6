/** Organizational units: create the declared ones; report the undeclared. */
import type { DesiredOrg, LiveOrg } from '../types';
import { step, type PlanDraft } from './steps';

/** Create each declared OU that is missing; report live OUs the config does not declare. */
export function planOus(live: LiveOrg, desired: DesiredOrg, plan: PlanDraft): void {
  const declaredOus = new Set(desired.organizationalUnits);
  for (const ou of desired.organizationalUnits) {
    if (!live.ous.some((o) => o.name === ou))
      plan.steps.push(step({ kind: 'createOu', ou }, ou, `create OU ${ou}`));
  }
  for (const o of live.ous)
    if (!declaredOus.has(o.name)) plan.undeclared.push({ kind: 'ou', name: o.name, detail: o.id });
}
