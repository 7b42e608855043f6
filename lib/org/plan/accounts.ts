/** Accounts: create (landing in the root, with their tags), move into their OU, tag. */
import { targetRef, type DesiredOrg, type LiveOrg } from '../types';
import { findAccount, step, type PlanDraft } from './steps';

/** Create, move and tag the declared accounts; report live accounts the config does not declare. */
export function planAccounts(live: LiveOrg, desired: DesiredOrg, plan: PlanDraft): void {
  const matched = new Set<string>();
  for (const a of desired.accounts) {
    const found = findAccount(live, a.name, a.email);
    const to = targetRef.ou(a.ou);
    if (!found) {
      plan.steps.push(
        step(
          { kind: 'createAccount', account: a.name, email: a.email, tags: a.tags },
          a.name,
          `create account ${a.name} (${a.email})`,
        ),
      );
      plan.steps.push(
        step(
          { kind: 'moveAccount', account: a.name, email: a.email, to: a.ou },
          a.name,
          `move account ${a.name} to OU ${a.ou}`,
        ),
      );
      continue;
    }
    matched.add(found.id);
    if (found.name !== a.name)
      plan.notes.push(
        `account ${found.id} is named "${found.name}" in AWS and "${a.name}" in org.yaml (matched by email)`,
      );
    if (found.status !== 'ACTIVE') plan.notes.push(`account ${a.name} (${found.id}) is ${found.status}`);
    if (found.parent !== to) {
      plan.steps.push(
        step(
          { kind: 'moveAccount', account: a.name, email: a.email, to: a.ou },
          a.name,
          `move account ${a.name} from ${found.parent} to OU ${a.ou}`,
        ),
      );
    }
    const changed = Object.fromEntries(Object.entries(a.tags).filter(([k, v]) => found.tags[k] !== v));
    if (Object.keys(changed).length > 0) {
      plan.steps.push(
        step(
          { kind: 'tagAccount', account: a.name, email: a.email, tags: changed },
          a.name,
          `tag account ${a.name}: ${Object.entries(changed)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ')}`,
        ),
      );
    }
  }
  for (const a of live.accounts) {
    if (a.id !== live.managementAccountId && !matched.has(a.id))
      plan.undeclared.push({ kind: 'account', name: a.name, detail: `${a.id} ${a.email}` });
  }
}
