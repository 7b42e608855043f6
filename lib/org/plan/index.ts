/**
 * The org bootstrap's planner: live state + desired state -> ordered steps, one planner per kind of
 * resource (organization, OUs, accounts, SCPs, the tag policy, roles, the connector credentials
 * role, budgets, Identity Center, cost, the budget freeze's AWS-side backstop), run in
 * that order, then the steps ordered by wave.
 */
import type { DesiredOrg, LiveOrg, OrgPlan, PlanStep } from '../types';
import { planAccounts } from './accounts';
import { planBackstop } from './backstop';
import { planBudgets } from './budgets';
import { planConnectorCredentials } from './connector-credentials';
import { planCost } from './cost';
import { planIdentityCenter } from './identity-center';
import { planOrganization } from './organization';
import { planOus } from './ous';
import { planPolicies } from './policies';
import { planRoles } from './roles';
import { canonicalJson, type PlanDraft } from './steps';
import { planTagPolicy } from './tag-policy';

/** The planners, in the order the plan lists their steps within a wave. */
const PLANNERS = [
  planOrganization,
  planOus,
  planAccounts,
  planPolicies,
  planTagPolicy,
  planRoles,
  planConnectorCredentials,
  planBudgets,
  planIdentityCenter,
  planCost,
  planBackstop,
];

/**
 * Live state + desired state -> ordered steps. Pure and deterministic (it runs inside workflows).
 * Unchanged state plans nothing; what exists undeclared is reported, never deleted; FreezeAccount
 * attachments are reported as frozen and never touched.
 */
export function planOrg(live: LiveOrg, desired: DesiredOrg): OrgPlan {
  const plan: PlanDraft = { steps: [], undeclared: [], frozen: [], notes: [...live.notes], warnings: [] };
  for (const planner of PLANNERS) planner(live, desired, plan);
  const steps = [...plan.steps].sort((a, b) => a.wave - b.wave);
  return {
    managementAccountId: live.managementAccountId,
    steps,
    undeclared: plan.undeclared,
    frozen: plan.frozen,
    notes: plan.notes,
    warnings: plan.warnings,
  };
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
