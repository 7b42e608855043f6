/** Budgets: create or update each declared budget and its notifications; report the undeclared. */
import { costTypeChanges, countsNetSpend } from '../../budget-cost-types';
import { usd } from '../../budget-messages';
import type { DesiredBudget, DesiredOrg, LiveBudget, LiveOrg } from '../types';
import { plannedAlertsTopic } from './backstop';
import { findAccount, step, type PlanDraft } from './steps';

/** What a budget counts, for a step's summary (nothing for an input recorded before cost types). */
function spendKind(b: DesiredBudget): string {
  if (!b.costTypes) return '';
  return countsNetSpend(b.costTypes) ? ' (net spend)' : ' (gross spend)';
}

/**
 * The warning an update earns when it would put a freezing budget past its freeze threshold at
 * once: the spend it will count after the update (Cost Explorer's gross figure when it switches
 * from net to gross spend), or a warning that the figure could not be read.
 */
function freezeWarning(b: DesiredBudget, live: LiveBudget): string | undefined {
  if (b.freezeAt === undefined) return undefined;
  const toGross =
    live.costTypes !== undefined &&
    b.costTypes !== undefined &&
    countsNetSpend(live.costTypes) &&
    !countsNetSpend(b.costTypes);
  const at = (b.amount * b.freezeAt) / 100;
  const of = `of $${b.amount}${b.freezeAt === 100 ? '' : ` (freezes at ${b.freezeAt} %, ${usd(at)})`}`;
  if (toGross) {
    const gross = live.grossSpend;
    if (!gross || 'unreadable' in gross)
      return `${b.name} switches to gross spend, which could not be read (${gross ? gross.unreadable : 'no single linked account'}): it may freeze as soon as this is applied`;
    return gross.amount >= at
      ? `${b.name} will freeze now: gross spend ${usd(gross.amount)} ${of}`
      : undefined;
  }
  if (live.actualSpend !== undefined && live.actualSpend >= at)
    return `${b.name} will freeze now: spend ${usd(live.actualSpend)} ${of}`;
  return undefined;
}

/** Create or update each declared budget and its missing notifications; report what is undeclared. */
export function planBudgets(live: LiveOrg, desired: DesiredOrg, plan: PlanDraft): void {
  const declared = new Set(desired.budgets.map((b) => b.name));
  // Only plans that read the backstop send notifications to the topic (older histories do not).
  const topic = plannedAlertsTopic(live, desired);
  const alerts = topic ? { alertsTopic: topic } : {};
  const to = topic ? ` and SNS topic ${topic}` : '';
  for (const b of desired.budgets) {
    const found = live.budgets.find((l) => l.name === b.name);
    if (!found) {
      plan.steps.push(
        step(
          { kind: 'createBudget', budget: b, ...alerts },
          b.name,
          `create budget ${b.name}: $${b.amount}/month${spendKind(b)}, notify at ${b.notify.join(', ')} %${to}`,
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
    // Inputs and reads recorded before cost types were declared (older histories) do not compare them.
    const typeChanges = found.costTypes && b.costTypes ? costTypeChanges(found.costTypes, b.costTypes) : [];
    if (found.amount !== b.amount || !scopeOk || typeChanges.length > 0) {
      const changes = [
        found.amount !== b.amount ? `limit $${found.amount} -> $${b.amount}/month` : '',
        scopeOk ? '' : `scope -> ${b.scope}`,
        typeChanges.length ? `cost types ${typeChanges.join(', ')}` : '',
      ].filter(Boolean);
      plan.steps.push(
        step({ kind: 'updateBudget', budget: b }, b.name, `update budget ${b.name}: ${changes.join('; ')}`),
      );
      const warning = freezeWarning(b, found);
      if (warning) plan.warnings.push(warning);
    }
    for (const t of b.notify) {
      if (!found.notify.includes(t)) {
        plan.steps.push(
          step(
            {
              kind: 'createBudgetNotification',
              budget: b.name,
              threshold: t,
              subscribers: b.subscribers,
              ...alerts,
            },
            `${b.name}@${t}`,
            `notify ${b.subscribers.join(', ')}${to} at ${t} % of budget ${b.name}`,
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
