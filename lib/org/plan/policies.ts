/** Service control policies: create or update their content, then make the attachments match. */
import { FREEZE_POLICY_NAME } from '../../names';
import { targetRef, type DesiredOrg, type LiveOrg } from '../types';
import { sameDocument, step, type PlanDraft } from './steps';

/**
 * Create or update each declared SCP and attach it to exactly its declared targets. FreezeAccount
 * attachments belong to the budget guard: reported as frozen, never touched.
 */
export function planPolicies(live: LiveOrg, desired: DesiredOrg, plan: PlanDraft): void {
  const declaredPolicies = new Set(desired.policies.map((p) => p.name));
  for (const p of desired.policies) {
    const found = live.policies.find((l) => l.name === p.name && !l.awsManaged);
    if (!found) {
      plan.steps.push(
        step(
          { kind: 'createPolicy', policy: p.name, description: p.description, content: p.content },
          p.name,
          `create SCP ${p.name}`,
        ),
      );
    } else if (!sameDocument(found.content, p.content) || found.description !== p.description) {
      plan.steps.push(
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
      plan.frozen.push(...attached);
      continue;
    }
    for (const t of p.targets) {
      if (!attached.includes(t))
        plan.steps.push(
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
        plan.steps.push(
          step(
            { kind: 'detachPolicy', policy: p.name, target: t },
            `${p.name}->${t}`,
            `detach SCP ${p.name} from ${t} (not a declared target)`,
          ),
        );
      } else plan.undeclared.push({ kind: 'attachment', name: `${p.name}->${t}` });
    }
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
