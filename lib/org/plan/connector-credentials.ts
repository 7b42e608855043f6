/**
 * The role in sv0-platform that the worker assumes to mint connectors' temporary AWS keys: created
 * when missing, its trust policy and permissions brought back when they drifted. Planned only when
 * org.yaml declares it and the live role was read (results recorded before it existed plan nothing).
 */
import { connectorCredentialsRolePolicy, connectorCredentialsTrustPolicy } from '../connector-credentials';
import type { DesiredOrg, LiveOrg } from '../types';
import { findAccount, sameDocument, step, type PlanDraft } from './steps';

export function planConnectorCredentials(live: LiveOrg, desired: DesiredOrg, plan: PlanDraft): void {
  const want = desired.connectorCredentials;
  const have = live.connectorCredentials;
  if (!want || !have) return;
  const key = `${want.account}/${want.role}`;
  if (have.frozen) {
    plan.notes.push(
      `account ${want.account} is frozen (FreezeAccount attached): role ${want.role} was not read or changed`,
    );
    return;
  }
  const action = { kind: 'ensureConnectorCredentialsRole' as const, role: want };
  const targets = want.assumes.map((a) => ({ accountId: findAccount(live, a.account)?.id, role: a.role }));
  const assumes = want.assumes.map((a) => `${a.role} in ${a.account}`).join(', ');
  if (!have.exists) {
    plan.steps.push(
      step(
        { ...action, create: true },
        key,
        `create role ${want.role} in ${want.account}, trusted by the management account with an external id, allowed to assume ${assumes} (connectors' temporary AWS keys)`,
      ),
    );
    return;
  }
  const trustOk =
    have.trustPolicy !== undefined &&
    sameDocument(
      have.trustPolicy,
      connectorCredentialsTrustPolicy(live.managementAccountId, want.externalId),
    );
  // An account created by this same apply has no id yet: the activity writes it in.
  const known = targets.every((t): t is { accountId: string; role: string } => t.accountId !== undefined);
  const policyOk =
    known && have.policy !== undefined && sameDocument(have.policy, connectorCredentialsRolePolicy(targets));
  if (!trustOk || !policyOk)
    plan.steps.push(
      step(
        { ...action, create: false },
        key,
        `update role ${want.role} in ${want.account}: ${[!trustOk ? 'trust policy' : '', !policyOk ? 'permissions' : ''].filter(Boolean).join(' and ')}`,
      ),
    );
}
