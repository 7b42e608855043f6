/** The tag policy: turn the policy type on, create or update the document, attach it where declared. */
import { tagPolicyValues } from '../tag-policy';
import type { DesiredOrg, LiveOrg } from '../types';
import { canonicalJson, planAttachments, sameDocument, step, type PlanDraft } from './steps';

/**
 * Converge the declared tag policy: enable TAG_POLICY on the root, create the policy or update a
 * live document that differs (drift), attach it to exactly its declared targets. Other tag
 * policies are reported, never touched. Nothing is planned when no tag policy is declared or the
 * live state was not read (results recorded before tag policies existed).
 */
export function planTagPolicy(live: LiveOrg, desired: DesiredOrg, plan: PlanDraft): void {
  const p = desired.tagPolicy;
  const tagPolicies = live.tagPolicies;
  if (!p || !tagPolicies) return;
  if (!tagPolicies.enabled)
    plan.steps.push(step({ kind: 'enableTagPolicyType' }, 'root', 'enable tag policies on the root'));

  const found = tagPolicies.policies.find((l) => l.name === p.name && !l.awsManaged);
  const action = { policy: p.name, description: p.description, content: p.content };
  if (!found) {
    plan.steps.push(
      step(
        { kind: 'createTagPolicy', ...action },
        p.name,
        `create tag policy ${p.name} (${valuesLine(p.content)})`,
      ),
    );
  } else if (!sameDocument(found.content, p.content) || found.description !== p.description) {
    plan.steps.push(
      step(
        { kind: 'updateTagPolicy', ...action },
        p.name,
        `update tag policy ${p.name} (${change(found.content, p.content, found.description !== p.description)})`,
      ),
    );
  }

  const attached = tagPolicies.attachments.filter((a) => a.policy === p.name).map((a) => a.target);
  planAttachments(plan, 'tag', p.name, p.targets, attached);

  for (const other of tagPolicies.policies) {
    if (other.awsManaged || other.name === p.name) continue;
    const targets = tagPolicies.attachments.filter((a) => a.policy === other.name).map((a) => a.target);
    plan.undeclared.push({
      kind: 'tag policy',
      name: other.name,
      detail: targets.length ? `attached to ${targets.join(', ')}` : 'not attached',
    });
  }
}

/** `sv0:owner: ivan, demo-script; ...` for a plan line. */
function valuesLine(content: string): string {
  const values = tagPolicyValues(content) ?? {};
  return Object.entries(values)
    .map(([k, v]) => `${k}: ${v.join(', ')}`)
    .join('; ');
}

/** What an update changes: the keys whose allowed values differ, else "document". */
function change(liveContent: string, content: string, descriptionChanged: boolean): string {
  const before = tagPolicyValues(liveContent) ?? {};
  const after = tagPolicyValues(content) ?? {};
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter(
    (k) => canonicalJson(before[k] ?? null) !== canonicalJson(after[k] ?? null),
  );
  const parts = keys.map(
    (k) =>
      `${k}: ${after[k]?.join(', ') ?? 'not constrained'}; was ${before[k]?.join(', ') ?? 'not constrained'}`,
  );
  if (parts.length === 0 && !sameDocument(liveContent, content)) parts.push('document differs');
  if (descriptionChanged) parts.push('description differs');
  return parts.join('; ');
}
