import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  GetRoleCommand,
  IAMClient,
  paginateListAttachedRolePolicies,
  UpdateAssumeRolePolicyCommand,
  UpdateRoleCommand,
} from '@aws-sdk/client-iam';
import type { OrganizationsClient } from '@aws-sdk/client-organizations';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { ApplicationFailure } from '@temporalio/common';
import { MANAGEMENT_ACCOUNT } from '../../lib/config/org';
import { ErrorType, Roles } from '../../lib/names';
import type { LiveRole, PlanStep } from '../../lib/org/types';
import type { AwsClientConfig } from '../../lib/runtime/aws';
import { assumeRoleConfig } from '../aws/session';
import { aws, awsErrorName, classifyAwsError } from '../aws/errors';
import { orgLookup } from './lookup';

export interface OrgRolesDeps {
  organizations: OrganizationsClient;
  sts: STSClient;
  /** An IAM client acting in `accountId` (the management account itself, or a member via its access role). */
  iamFor(accountId: string): Promise<IAMClient>;
}

type Step<K extends PlanStep['kind']> = Extract<PlanStep, { kind: K }>;

/**
 * IAM clients for the organization's accounts: the caller's own account directly, a member account
 * through its OrganizationAccountAccessRole (which CreateAccount made). Credentials are asked for
 * at each use, so they never outlive an activity.
 */
export function iamThroughAccessRole(base: AwsClientConfig): (accountId: string) => Promise<IAMClient> {
  let own: Promise<string | undefined> | undefined;
  return async (accountId) => {
    own ??= new STSClient(base).send(new GetCallerIdentityCommand({})).then((o) => o.Account);
    if ((await own) === accountId) return new IAMClient(base);
    try {
      return new IAMClient(
        await assumeRoleConfig(base, {
          accountId,
          roleName: Roles.organizationAccess,
          sessionName: 'sv0-org-bootstrap',
        }),
      );
    } catch (err) {
      if (awsErrorName(err) === 'AccessDenied') {
        throw ApplicationFailure.nonRetryable(
          `account ${accountId}: cannot assume ${Roles.organizationAccess} (${(err as Error).message}); an invited account needs that role created by hand`,
          ErrorType.AccessDenied,
        );
      }
      throw err;
    }
  };
}

/** The trust policy of a cross-account role: one account, with an external id. */
export function trustPolicy(trustedAccountId: string, externalId: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${trustedAccountId}:root` },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'sts:ExternalId': externalId } },
      },
    ],
  });
}

/** Principal and external id of a trust policy as IAM returns it (URL-encoded JSON). */
function readTrust(document: string | undefined): { principal?: string; externalId?: string } {
  if (!document) return {};
  try {
    const doc = JSON.parse(decodeURIComponent(document)) as {
      Statement?: {
        Principal?: { AWS?: string | string[] };
        Condition?: { StringEquals?: Record<string, string | string[]> };
      }[];
    };
    const s = doc.Statement?.[0];
    const principal = [s?.Principal?.AWS].flat()[0];
    const externalId = [s?.Condition?.StringEquals?.['sts:ExternalId']].flat()[0];
    return { principal, externalId };
  } catch {
    return {};
  }
}

/**
 * The cross-account roles of config/org.yaml's `crossAccountRoles` (SecurityV0-ReadOnly, sv0-orchestrator-deploy),
 * read and created in each account through its OrganizationAccountAccessRole.
 */
export function createOrgRolesActivities(deps: OrgRolesDeps) {
  const lookup = orgLookup(deps.organizations);

  async function accountId(name: string): Promise<string | undefined> {
    if (name === MANAGEMENT_ACCOUNT) {
      return (await aws('GetCallerIdentity', () => deps.sts.send(new GetCallerIdentityCommand({})))).Account;
    }
    return (await lookup.findAccount(name))?.Id;
  }

  return {
    /**
     * Each declared role, in the accounts that exist now (the caller passes their ids). A role in a
     * frozen account is not read: FreezeAccount denies the access role the read goes through.
     */
    async orgReadRoles(input: {
      roles: { account: string; accountId: string; name: string; frozen?: boolean }[];
    }): Promise<LiveRole[]> {
      const live: LiveRole[] = [];
      for (const r of input.roles) {
        if (r.frozen) {
          live.push({ account: r.account, name: r.name, exists: false, managedPolicies: [], frozen: true });
          continue;
        }
        const iam = await deps.iamFor(r.accountId);
        try {
          const role = (await iam.send(new GetRoleCommand({ RoleName: r.name }))).Role;
          const trust = readTrust(role?.AssumeRolePolicyDocument);
          const managedPolicies: string[] = [];
          for await (const page of paginateListAttachedRolePolicies({ client: iam }, { RoleName: r.name })) {
            for (const p of page.AttachedPolicies ?? []) if (p.PolicyArn) managedPolicies.push(p.PolicyArn);
          }
          live.push({
            account: r.account,
            name: r.name,
            exists: true,
            trustedPrincipal: trust.principal,
            externalId: trust.externalId,
            managedPolicies,
          });
        } catch (err) {
          if (awsErrorName(err) !== 'NoSuchEntityException' && awsErrorName(err) !== 'NoSuchEntity')
            throw classifyAwsError(`read role ${r.name} in ${r.account}`, err);
          live.push({ account: r.account, name: r.name, exists: false, managedPolicies: [] });
        }
      }
      return live;
    },

    /** Create the role (or bring its trust policy and managed policies to the declared ones). */
    async orgEnsureRole(step: Step<'ensureRole'>): Promise<void> {
      const { role } = step;
      const [id, trustedId] = await Promise.all([accountId(role.account), accountId(role.trustedAccount)]);
      if (!id) throw new Error(`account ${role.account} does not exist yet`);
      if (!trustedId) throw new Error(`account ${role.trustedAccount} does not exist yet`);
      const iam = await deps.iamFor(id);
      const document = trustPolicy(trustedId, role.externalId);
      const what = `role ${role.name} in ${role.account}`;
      try {
        await iam.send(
          new CreateRoleCommand({
            RoleName: role.name,
            AssumeRolePolicyDocument: document,
            Description: role.description || undefined,
            Tags: [{ Key: 'sv0:owner', Value: 'automated' }],
          }),
        );
      } catch (err) {
        if (
          awsErrorName(err) !== 'EntityAlreadyExistsException' &&
          awsErrorName(err) !== 'EntityAlreadyExists'
        )
          throw classifyAwsError(`create ${what}`, err);
        await aws(`update the trust policy of ${what}`, () =>
          iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: role.name, PolicyDocument: document })),
        );
        if (role.description)
          await aws(`describe ${what}`, () =>
            iam.send(new UpdateRoleCommand({ RoleName: role.name, Description: role.description })),
          );
      }
      for (const arn of role.managedPolicies) {
        try {
          await iam.send(new AttachRolePolicyCommand({ RoleName: role.name, PolicyArn: arn }));
        } catch (err) {
          if (awsErrorName(err) === 'NoSuchEntityException' || awsErrorName(err) === 'NoSuchEntity') {
            throw ApplicationFailure.nonRetryable(
              `${what}: managed policy ${arn} does not exist in account ${role.account}; fix crossAccountRoles[].managedPolicies in config/org.yaml`,
              ErrorType.BadConfig,
            );
          }
          throw classifyAwsError(`attach ${arn} to ${what}`, err);
        }
      }
    },
  };
}
