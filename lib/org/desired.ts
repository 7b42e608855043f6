import type { BudgetsConfig } from '../config/budgets';
import { ConfigError } from '../config/validate';
import { type OrgConfig, ROOT_TARGET, roleAccounts } from '../config/org';
import { policyContent } from '../config/policy-document';
import { BUDGET_ALERTS_TOPIC, Roles } from '../names';
import { tagPolicyDocument } from './tag-policy';
import { type DesiredOrg, type TargetRef, targetRef } from './types';

/**
 * The desired organization from validated config: OU and account names resolved into target
 * references, SCP documents minified, `sandbox` role placement expanded, budgets with their
 * defaults applied.
 */
export function buildDesiredOrg(org: OrgConfig, budgets: BudgetsConfig): DesiredOrg {
  const ous = new Set(org.organizationalUnits.map((o) => o.name));
  const toTarget = (t: string): TargetRef =>
    t === ROOT_TARGET ? targetRef.root : ous.has(t) ? targetRef.ou(t) : targetRef.account(t);
  const ic = org.identityCenter;
  return {
    organizationalUnits: org.organizationalUnits.map((o) => o.name),
    accounts: org.accounts.map((a) => ({
      name: a.name,
      email: a.email,
      ou: a.ou,
      sandbox: a.sandbox,
      tags: a.tags,
    })),
    policies: org.serviceControlPolicies.map((p) => {
      const content = policyContent(p.document);
      // Validation already refused invalid documents; this keeps the type honest.
      if ('error' in content) throw new Error(`SCP ${p.name}: ${content.error}`);
      return {
        name: p.name,
        description: p.description,
        content: content.text,
        targets: p.targets.map(toTarget),
      };
    }),
    roles: org.crossAccountRoles.flatMap((r) =>
      roleAccounts(org, r).map((account) => ({
        name: r.name,
        account,
        trustedAccount: r.trustedAccount,
        externalId: r.externalId,
        description: r.description,
        managedPolicies: r.managedPolicies,
      })),
    ),
    budgets: budgets.budgets.map((b) => ({
      name: b.name,
      scope: b.account,
      amount: b.amount,
      notify: b.notify,
      subscribers: b.subscribers,
      costTypes: b.costTypes,
      ...(b.freezeAt !== undefined ? { freezeAt: b.freezeAt } : {}),
    })),
    ...(ic
      ? {
          identityCenter: {
            users: ic.users,
            permissionSets: ic.permissionSets,
            assignments: ic.assignments.flatMap((a) =>
              a.accounts.map((account) => ({ user: a.user, permissionSet: a.permissionSet, account })),
            ),
          },
        }
      : {}),
    cost: {
      allocationTags: org.cost.allocationTags,
      ...(org.cost.anomalyMonitor ? { anomalyMonitor: org.cost.anomalyMonitor } : {}),
    },
    ...(org.tagPolicy
      ? {
          tagPolicy: {
            name: org.tagPolicy.name,
            description: org.tagPolicy.description,
            content: JSON.stringify(tagPolicyDocument(org.tagPolicy.values, org.tagPolicy.enforcedFor)),
            targets: org.tagPolicy.targets.map(toTarget),
          },
        }
      : {}),
    budgetAlerts: { topic: BUDGET_ALERTS_TOPIC, freezeRole: Roles.budgetsFreeze },
    ...(org.connectorCredentials
      ? {
          connectorCredentials: {
            account: org.connectorCredentials.account,
            role: org.connectorCredentials.role,
            externalId: org.connectorCredentials.externalId,
            assumes: org.crossAccountRoles
              .filter((r) => r.trustedAccount === org.connectorCredentials?.account)
              .flatMap((r) => roleAccounts(org, r).map((account) => ({ account, role: r.name }))),
          },
        }
      : {}),
  };
}

/** Domains that can never receive mail (RFC 2606): fine against moto, refused against real AWS. */
const PLACEHOLDER_DOMAIN = /@(example\.(com|org|net)|[^@]+\.(example|test|invalid|localhost))$/i;

/**
 * Refuse placeholder emails when the target is real AWS: an account created with one can never be
 * recovered (its root user's mail goes nowhere), and budget alerts would reach no one.
 * Returns the problems as {@link ConfigError}s per file; empty when fine.
 */
export function placeholderEmailErrors(
  org: OrgConfig,
  budgets: BudgetsConfig,
  files: { org: string; budgets: string },
): ConfigError[] {
  const reason = (email: string) =>
    `${email} is a placeholder address; against real AWS use a mailbox you read (AWS sends the account's root user mail there)`;
  const orgProblems: { path: string; reason: string }[] = [];
  org.accounts.forEach((a, i) => {
    if (PLACEHOLDER_DOMAIN.test(a.email))
      orgProblems.push({ path: `accounts[${i}].email`, reason: reason(a.email) });
  });
  org.identityCenter?.users.forEach((u, i) => {
    if (PLACEHOLDER_DOMAIN.test(u.email))
      orgProblems.push({ path: `identityCenter.users[${i}].email`, reason: reason(u.email) });
  });
  const budgetProblems: { path: string; reason: string }[] = [];
  budgets.budgets.forEach((b, i) => {
    b.subscribers.forEach((s, j) => {
      if (PLACEHOLDER_DOMAIN.test(s)) {
        budgetProblems.push({
          path: `budgets[${i}].subscribers[${j}]`,
          reason: `${reason(s)} (set it on the budget or in defaults.subscribers)`,
        });
      }
    });
  });
  return [
    ...(orgProblems.length ? [new ConfigError(files.org, orgProblems)] : []),
    ...(budgetProblems.length ? [new ConfigError(files.budgets, budgetProblems)] : []),
  ];
}

/** The same check on the desired state alone (the worker's own check; it has no files). */
export function desiredPlaceholderEmails(desired: DesiredOrg): string[] {
  const emails = [
    ...desired.accounts.map((a) => a.email),
    ...(desired.identityCenter?.users.map((u) => u.email) ?? []),
    ...desired.budgets.flatMap((b) => b.subscribers),
  ];
  return [...new Set(emails.filter((e) => PLACEHOLDER_DOMAIN.test(e)))];
}
