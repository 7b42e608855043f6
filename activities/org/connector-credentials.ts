/**
 * The connector credentials role (config/org.yaml `connectorCredentials`): the role in sv0-platform
 * that the worker assumes to mint connectors' temporary AWS keys. Read and written in its account
 * through OrganizationAccountAccessRole, like the cross-account roles.
 */
import {
  CreateRoleCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { OrganizationsClient } from '@aws-sdk/client-organizations';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import {
  CONNECTOR_CREDENTIALS_POLICY_NAME,
  connectorCredentialsRolePolicy,
  connectorCredentialsTrustPolicy,
} from '../../lib/org/connector-credentials';
import type { LiveConnectorCredentials, PlanStep } from '../../lib/org/types';
import { aws, awsErrorName, classifyAwsError } from '../aws/errors';
import { orgLookup } from './lookup';

export interface OrgConnectorCredentialsDeps {
  organizations: OrganizationsClient;
  sts: STSClient;
  /** An IAM client acting in `accountId` (a member through its OrganizationAccountAccessRole). */
  iamFor(accountId: string): Promise<IAMClient>;
}

const notFound = (err: unknown) => /NoSuchEntity/.test(awsErrorName(err) ?? '');

export function createOrgConnectorCredentialsActivities(deps: OrgConnectorCredentialsDeps) {
  const lookup = orgLookup(deps.organizations);

  return {
    /** The role as it is in `accountId`: whether it exists, its trust policy and its inline policy. */
    async orgReadConnectorCredentialsRole(input: {
      accountId: string;
      role: string;
    }): Promise<LiveConnectorCredentials> {
      const iam = await deps.iamFor(input.accountId);
      try {
        const role = await iam.send(new GetRoleCommand({ RoleName: input.role }));
        const live: LiveConnectorCredentials = { exists: true };
        const trust = role.Role?.AssumeRolePolicyDocument;
        if (trust) live.trustPolicy = decodeURIComponent(trust);
        const policy = await iam
          .send(
            new GetRolePolicyCommand({ RoleName: input.role, PolicyName: CONNECTOR_CREDENTIALS_POLICY_NAME }),
          )
          .catch((err: unknown) => {
            if (notFound(err)) return undefined;
            throw err;
          });
        if (policy?.PolicyDocument) live.policy = decodeURIComponent(policy.PolicyDocument);
        return live;
      } catch (err) {
        if (notFound(err)) return { exists: false };
        throw classifyAwsError(`read role ${input.role} in account ${input.accountId}`, err);
      }
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
      const iam = await deps.iamFor(id);
      const what = `role ${role.role} in ${role.account}`;
      const trust = connectorCredentialsTrustPolicy(caller.Account, role.externalId);
      try {
        await iam.send(
          new CreateRoleCommand({
            RoleName: role.role,
            AssumeRolePolicyDocument: trust,
            Description: "The sv0 worker mints connectors' temporary AWS keys through this role",
            MaxSessionDuration: 3600,
            Tags: [{ Key: 'sv0:owner', Value: 'automated' }],
          }),
        );
      } catch (err) {
        if (!/EntityAlreadyExists/.test(awsErrorName(err) ?? ''))
          throw classifyAwsError(`create ${what}`, err);
        await aws(`update the trust policy of ${what}`, () =>
          iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: role.role, PolicyDocument: trust })),
        );
      }
      await aws(`set the permissions of ${what}`, () =>
        iam.send(
          new PutRolePolicyCommand({
            RoleName: role.role,
            PolicyName: CONNECTOR_CREDENTIALS_POLICY_NAME,
            PolicyDocument: connectorCredentialsRolePolicy(targets),
          }),
        ),
      );
    },
  };
}
