/**
 * The connector credentials role (config/org.yaml `connectorCredentials`): the role in sv0-platform
 * that the worker assumes to mint connectors' temporary AWS keys. Read and written in its account
 * through OrganizationAccountAccessRole, like the cross-account roles.
 */
import type { IAMClient } from '@aws-sdk/client-iam';
import type { OrganizationsClient } from '@aws-sdk/client-organizations';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import {
  CONNECTOR_CREDENTIALS_POLICY_NAME,
  connectorCredentialsRolePolicy,
  connectorCredentialsTrustPolicy,
} from '../../lib/org/connector-credentials';
import type { LiveConnectorCredentials, PlanStep } from '../../lib/org/types';
import { aws } from '../aws/errors';
import { ensureRoleWithPolicy, readRoleWithPolicy } from '../aws/ensure';
import { orgLookup } from './lookup';

export interface OrgConnectorCredentialsDeps {
  organizations: OrganizationsClient;
  sts: STSClient;
  /** An IAM client acting in `accountId` (a member through its OrganizationAccountAccessRole). */
  iamFor(accountId: string): Promise<IAMClient>;
}

export function createOrgConnectorCredentialsActivities(deps: OrgConnectorCredentialsDeps) {
  const lookup = orgLookup(deps.organizations);

  return {
    /** The role as it is in `accountId`: whether it exists, its trust policy and its inline policy. */
    async orgReadConnectorCredentialsRole(input: {
      accountId: string;
      role: string;
    }): Promise<LiveConnectorCredentials> {
      return readRoleWithPolicy(await deps.iamFor(input.accountId), {
        name: input.role,
        policyName: CONNECTOR_CREDENTIALS_POLICY_NAME,
        what: `role ${input.role} in account ${input.accountId}`,
      });
    },

    /**
     * Create the role, or set its trust policy; then set its permissions to exactly the roles it may
     * assume (ids looked up now, so accounts created by the same apply are included). Idempotent.
     */
    async orgEnsureConnectorCredentialsRole(
      step: Extract<PlanStep, { kind: 'ensureConnectorCredentialsRole' }>,
    ): Promise<void> {
      const { role } = step;
      const [caller, accounts] = await Promise.all([
        aws('GetCallerIdentity', () => deps.sts.send(new GetCallerIdentityCommand({}))),
        lookup.accounts(),
      ]);
      const idOf = (name: string) => accounts.find((a) => a.Name === name)?.Id;
      const id = idOf(role.account);
      if (!caller.Account) throw new Error('GetCallerIdentity returned no account');
      if (!id) throw new Error(`account ${role.account} does not exist yet`);
      const targets = role.assumes.map((a) => {
        const accountId = idOf(a.account);
        if (!accountId) throw new Error(`account ${a.account} does not exist yet`);
        return { accountId, role: a.role };
      });
      await ensureRoleWithPolicy(await deps.iamFor(id), {
        name: role.role,
        what: `role ${role.role} in ${role.account}`,
        trustPolicy: connectorCredentialsTrustPolicy(caller.Account, role.externalId),
        description: "The sv0 worker mints connectors' temporary AWS keys through this role",
        maxSessionDuration: 3600,
        policyName: CONNECTOR_CREDENTIALS_POLICY_NAME,
        policy: connectorCredentialsRolePolicy(targets),
      });
    },
  };
}
