/** Service control policies: create or update their content, then make the attachments match. */
import { FREEZE_POLICY_NAME } from '../../names';
import { expandFreezeExemption, exemptedPrincipals, hasExemptionTemplate } from '../freeze-exemption';
import type { DesiredOrg, DesiredPolicy, LiveOrg } from '../types';
import { AFTER_ACCOUNTS, planAttachments, sameDocument, step, type PlanDraft } from './steps';

/**
 * Create or update each declared SCP and attach it to exactly its declared targets. FreezeAccount
 * attachments belong to the budget guard: reported as frozen, never touched.
 */
export function planPolicies(live: LiveOrg, desired: DesiredOrg, plan: PlanDraft): void {
  const declaredPolicies = new Set(desired.policies.map((p) => p.name));
  for (const declared of desired.policies) {
    const { policy: p, exemptAccounts } = withExemption(declared, live, desired);
    const found = live.policies.find((l) => l.name === p.name && !l.awsManaged);
    const action = { policy: p.name, description: p.description, content: p.content };
    if (exemptAccounts) {
      // After the accounts are created, so that their ids can be written in (see withExemption).
      const kind = found ? 'updatePolicy' : 'createPolicy';
      plan.steps.push(
        step(
          { kind, ...action, exemptAccounts },
          p.name,
          `${found ? 'update' : 'create'} SCP ${p.name} (exempt the deploy role of ${exemptAccounts.join(', ')} by exact ARN, ids written in once the accounts exist)`,
          AFTER_ACCOUNTS,
        ),
      );
    } else if (!found) {
      plan.steps.push(step({ kind: 'createPolicy', ...action }, p.name, `create SCP ${p.name}`));
    } else if (!sameDocument(found.content, p.content) || found.description !== p.description) {
      plan.steps.push(
        step(
          { kind: 'updatePolicy', ...action },
          p.name,
          `update SCP ${p.name} (${policyChange(found.content, p.content, found.description !== p.description)})`,
        ),
      );
    }
    const attached = live.attachments.filter((x) => x.policy === p.name).map((x) => x.target);
    if (p.name === FREEZE_POLICY_NAME) {
      // The budget guard owns these: report, never attach or detach.
      plan.frozen.push(...attached);
      continue;
    }
    planAttachments(plan, 'scp', p.name, p.targets, attached);
  }
  if (!declaredPolicies.has(FREEZE_POLICY_NAME)) {
    plan.frozen.push(...live.attachments.filter((x) => x.policy === FREEZE_POLICY_NAME).map((x) => x.target));
  }
  for (const p of live.policies) {
    if (!p.awsManaged && !declaredPolicies.has(p.name)) {
      const targets = live.attachments.filter((x) => x.policy === p.name).map((x) => x.target);
      plan.undeclared.push({
        kind: 'scp',
        name: p.name,
        detail: targets.length ? `attached to ${targets.join(', ')}` : 'not attached',
      });
    }
  }
}

/**
 * The declared policy with FreezeAccount's exemption written in: one exact ARN per sandbox account.
 * When every sandbox account exists, the plan carries the finished document. When one is created by
 * this same apply, its id is unknown until then: the step keeps the template, names the sandbox
 * accounts, and runs in the wave after account creation, where the activity writes in the ids it
 * finds (an account still missing then is left out, and the next plan adds it).
 */
function withExemption(
  p: DesiredPolicy,
  live: LiveOrg,
  desired: DesiredOrg,
): { policy: DesiredPolicy; exemptAccounts?: string[] } {
  if (!hasExemptionTemplate(p.content)) return { policy: p };
  const sandbox = desired.accounts.filter((d) => d.sandbox).map((d) => d.name);
  const ids = sandbox.map((name) => live.accounts.find((l) => l.name === name)?.id);
  if (ids.every((id): id is string => id !== undefined))
    return { policy: { ...p, content: expandFreezeExemption(p.content, ids) } };
  return { policy: p, exemptAccounts: sandbox };
}

/** What an update changes, for the plan: the exempted principals when they differ, else "document". */
function policyChange(liveContent: string, content: string, descriptionChanged: boolean): string {
  const principals = (text: string) => {
    try {
      return exemptedPrincipals(JSON.parse(text) as Record<string, unknown>).join(', ') || 'none';
    } catch {
      return 'none';
    }
  };
  const [before, after] = [principals(liveContent), principals(content)];
  const parts: string[] = [];
  if (before !== after) parts.push(`exempt ${after}; was ${before}`);
  else if (!sameDocument(liveContent, content)) parts.push('document differs');
  if (descriptionChanged) parts.push('description differs');
  return parts.join('; ');
}
