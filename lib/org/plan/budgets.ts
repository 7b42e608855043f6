/** Budgets: create or update each declared budget and its notifications; report the undeclared. */
import type { DesiredOrg, LiveOrg } from '../types';
import { findAccount, step, type PlanDraft } from './steps';

/** Create or update each declared budget and its missing notifications; report what is undeclared. */
export function planBudgets(live: LiveOrg, desired: DesiredOrg, plan: PlanDraft): void {
  const declared = new Set(desired.budgets.map((b) => b.name));
  for (const b of desired.budgets) {
    const found = live.budgets.find((l) => l.name === b.name);
    if (!found) {
      plan.steps.push(
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
      plan.steps.push(
        step(
          { kind: 'updateBudget', budget: b },
          b.name,
          `update budget ${b.name}: $${b.amount}/month for ${b.scope}`,
        ),
      );
    }
    for (const t of b.notify) {
      if (!found.notify.includes(t)) {
        plan.steps.push(
          step(
            { kind: 'createBudgetNotification', budget: b.name, threshold: t, subscribers: b.subscribers },
            `${b.name}@${t}`,
            `notify ${b.subscribers.join(', ')} at ${t} % of budget ${b.name}`,
          ),
        );
      }
    }
    for (const t of found.notify)
      if (!b.notify.includes(t))
        plan.undeclared.push({ kind: 'budget-notification', name: `${b.name}@${t}` });
  }
  for (const l of live.budgets)
    if (!declared.has(l.name))
      plan.undeclared.push({ kind: 'budget', name: l.name, detail: `$${l.amount}/month` });
}
