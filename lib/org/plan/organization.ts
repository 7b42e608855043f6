/** The organization itself: create it (all features), and turn on service control policies. */
import type { DesiredOrg, LiveOrg } from '../types';
import { step, type PlanDraft } from './steps';

/** Create the organization when there is none; SCPs need all features and the policy type on. */
export function planOrganization(live: LiveOrg, _desired: DesiredOrg, plan: PlanDraft): void {
  if (!live.organization)
    plan.steps.push(step({ kind: 'createOrganization' }, 'ALL', 'create the organization (all features)'));
  else if (live.organization.featureSet !== 'ALL') {
    plan.notes.push(
      'the organization has only consolidated billing; enable all features in the console (SCPs need them)',
    );
  }
  if (!live.scpEnabled)
    plan.steps.push(step({ kind: 'enableScpType' }, 'root', 'enable service control policies on the root'));
}
