import {
  type Account,
  ListRootsCommand,
  type OrganizationsClient,
  paginateListAccounts,
  paginateListOrganizationalUnitsForParent,
  paginateListPolicies,
  type PolicySummary,
  type Root,
} from '@aws-sdk/client-organizations';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../lib/names';
import type { TargetRef } from '../../lib/org/types';
import { aws } from '../aws/errors';

/** The policy types the bootstrap manages. */
export type PolicyType = 'SERVICE_CONTROL_POLICY' | 'TAG_POLICY';

/**
 * Name-to-id lookups in AWS Organizations. Steps carry names, not ids, so that a step planned
 * before its OU, account or policy existed still runs, and a retried step looks again.
 */
export function orgLookup(organizations: OrganizationsClient) {
  async function root(): Promise<Root> {
    const out = await aws('ListRoots', () => organizations.send(new ListRootsCommand({})));
    const r = out.Roots?.[0];
    if (!r?.Id) throw new Error('the organization has no root yet');
    return r;
  }

  async function ous(parentId: string): Promise<{ id: string; name: string }[]> {
    const list: { id: string; name: string }[] = [];
    for await (const page of paginateListOrganizationalUnitsForParent(
      { client: organizations },
      { ParentId: parentId },
    )) {
      for (const o of page.OrganizationalUnits ?? [])
        if (o.Id && o.Name) list.push({ id: o.Id, name: o.Name });
    }
    return list;
  }

  async function accounts(): Promise<Account[]> {
    const list: Account[] = [];
    for await (const page of paginateListAccounts({ client: organizations }, {}))
      list.push(...(page.Accounts ?? []));
    return list;
  }

  /** The policies of one type (SCPs unless told). */
  async function policies(type: PolicyType = 'SERVICE_CONTROL_POLICY'): Promise<PolicySummary[]> {
    const list: PolicySummary[] = [];
    for await (const page of paginateListPolicies({ client: organizations }, { Filter: type })) {
      list.push(...(page.Policies ?? []));
    }
    return list;
  }

  /** The account declared as `name` (or, failing that, with `email`), if it exists. */
  async function findAccount(name: string, email?: string): Promise<Account | undefined> {
    const all = await accounts();
    return (
      all.find((a) => a.Name === name) ??
      (email ? all.find((a) => a.Email?.toLowerCase() === email.toLowerCase()) : undefined)
    );
  }

  async function ouId(name: string): Promise<string> {
    const r = await root();
    const found = (await ous(r.Id!)).find((o) => o.name === name);
    if (!found) throw new Error(`OU ${name} does not exist yet`);
    return found.id;
  }

  async function policyId(name: string, type: PolicyType = 'SERVICE_CONTROL_POLICY'): Promise<string> {
    const found = (await policies(type)).find((p) => p.Name === name && !p.AwsManaged);
    if (!found?.Id)
      throw new Error(`${type === 'TAG_POLICY' ? 'tag policy' : 'SCP'} ${name} does not exist yet`);
    return found.Id;
  }

  /** The AWS id of a target reference (`root`, `ou:Name`, `account:name`). */
  async function targetId(target: TargetRef): Promise<string> {
    if (target === 'root') return (await root()).Id!;
    const [kind, name] = [target.slice(0, target.indexOf(':')), target.slice(target.indexOf(':') + 1)];
    if (kind === 'ou') return ouId(name);
    if (kind === 'account') {
      const a = await findAccount(name);
      if (!a?.Id) throw new Error(`account ${name} does not exist yet`);
      return a.Id;
    }
    throw ApplicationFailure.nonRetryable(`unknown target ${target}`, ErrorType.BadConfig);
  }

  return { root, ous, accounts, policies, findAccount, ouId, policyId, targetId };
}
