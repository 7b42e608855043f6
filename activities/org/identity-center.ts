import { CreateUserCommand, GetUserIdCommand, type IdentitystoreClient } from '@aws-sdk/client-identitystore';
import type { OrganizationsClient } from '@aws-sdk/client-organizations';
import {
  AttachManagedPolicyToPermissionSetCommand,
  CreateAccountAssignmentCommand,
  CreatePermissionSetCommand,
  DescribeAccountAssignmentCreationStatusCommand,
  DescribePermissionSetCommand,
  type InstanceMetadata,
  ListInstancesCommand,
  paginateListAccountAssignments,
  paginateListManagedPoliciesInPermissionSet,
  paginateListPermissionSets,
  ProvisionPermissionSetCommand,
  type SSOAdminClient,
  UpdatePermissionSetCommand,
} from '@aws-sdk/client-sso-admin';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { ApplicationFailure } from '@temporalio/common';
import { MANAGEMENT_ACCOUNT } from '../../lib/config/org';
import { ErrorType } from '../../lib/names';
import type { DesiredOrg, LiveIdentityCenter, PlanStep } from '../../lib/org/types';
import { aws, awsErrorName, classifyAwsError } from '../aws/errors';
import { heartbeat, sleep } from '../aws/heartbeat';
import { orgLookup } from './lookup';

export interface IdentityCenterDeps {
  ssoAdmin: SSOAdminClient;
  identityStore: IdentitystoreClient;
  organizations: OrganizationsClient;
  sts: STSClient;
  /** Pause between assignment status polls. @default 2000 */
  pollIntervalMs?: number;
}

type Step<K extends PlanStep['kind']> = Extract<PlanStep, { kind: K }>;

/** Message when there is nothing to manage: enabling an organization instance has no API. */
const NO_IDENTITY_CENTER =
  'no IAM Identity Center instance: enable it once in the console; users, permission sets and assignments are skipped';

/**
 * IAM Identity Center (SSO): users, permission sets and account assignments as
 * config/org.yaml's `identityCenter` declares them, where an instance exists.
 */
export function createIdentityCenterActivities(deps: IdentityCenterDeps) {
  const { ssoAdmin, identityStore } = deps;
  const lookup = orgLookup(deps.organizations);
  const pollMs = deps.pollIntervalMs ?? 2000;

  async function instance(): Promise<InstanceMetadata | undefined> {
    const out = await aws('ListInstances', () => ssoAdmin.send(new ListInstancesCommand({})));
    return out.Instances?.find((i) => i.InstanceArn && i.IdentityStoreId);
  }

  async function requireInstance(): Promise<InstanceMetadata> {
    const found = await instance();
    if (!found) throw ApplicationFailure.nonRetryable(NO_IDENTITY_CENTER, ErrorType.BadConfig);
    return found;
  }

  async function userId(storeId: string, userName: string): Promise<string | undefined> {
    try {
      const out = await identityStore.send(
        new GetUserIdCommand({
          IdentityStoreId: storeId,
          AlternateIdentifier: { UniqueAttribute: { AttributePath: 'userName', AttributeValue: userName } },
        }),
      );
      return out.UserId;
    } catch (err) {
      if (awsErrorName(err) === 'ResourceNotFoundException') return undefined;
      throw classifyAwsError(`look up Identity Center user ${userName}`, err);
    }
  }

  async function permissionSets(instanceArn: string): Promise<LiveIdentityCenter['permissionSets']> {
    const list: LiveIdentityCenter['permissionSets'] = [];
    for await (const page of paginateListPermissionSets({ client: ssoAdmin }, { InstanceArn: instanceArn })) {
      for (const arn of page.PermissionSets ?? []) {
        const d = (
          await aws('DescribePermissionSet', () =>
            ssoAdmin.send(
              new DescribePermissionSetCommand({ InstanceArn: instanceArn, PermissionSetArn: arn }),
            ),
          )
        ).PermissionSet;
        const managedPolicies: string[] = [];
        for await (const p of paginateListManagedPoliciesInPermissionSet(
          { client: ssoAdmin },
          { InstanceArn: instanceArn, PermissionSetArn: arn },
        )) {
          for (const m of p.AttachedManagedPolicies ?? []) if (m.Arn) managedPolicies.push(m.Arn);
        }
        list.push({
          arn,
          name: d?.Name ?? '',
          description: d?.Description ?? '',
          sessionDuration: d?.SessionDuration ?? 'PT1H',
          managedPolicies,
        });
      }
    }
    return list;
  }

  async function accountId(name: string): Promise<string | undefined> {
    if (name === MANAGEMENT_ACCOUNT)
      return (await aws('GetCallerIdentity', () => deps.sts.send(new GetCallerIdentityCommand({})))).Account;
    return (await lookup.findAccount(name))?.Id;
  }

  return {
    /** The instance, the declared users that exist, every permission set, and assignments in the declared accounts. */
    async orgReadIdentityCenter(input: {
      desired: NonNullable<DesiredOrg['identityCenter']>;
      /** Accounts that exist now, by the names assignments use (`management` included). */
      accounts: { name: string; id: string }[];
    }): Promise<{ identityCenter?: LiveIdentityCenter; notes: string[] }> {
      const inst = await instance();
      if (!inst) return { notes: [NO_IDENTITY_CENTER] };
      const instanceArn = inst.InstanceArn!;
      const users: LiveIdentityCenter['users'] = [];
      for (const u of input.desired.users) {
        const id = await userId(inst.IdentityStoreId!, u.userName);
        if (id) users.push({ userName: u.userName, id });
      }
      const sets = await permissionSets(instanceArn);
      const assignments: LiveIdentityCenter['assignments'] = [];
      const accountNames = [...new Set(input.desired.assignments.map((a) => a.account))];
      for (const name of accountNames) {
        const id = input.accounts.find((a) => a.name === name)?.id;
        if (!id) continue;
        for (const ps of sets) {
          for await (const page of paginateListAccountAssignments(
            { client: ssoAdmin },
            { InstanceArn: instanceArn, AccountId: id, PermissionSetArn: ps.arn },
          )) {
            for (const a of page.AccountAssignments ?? []) {
              if (a.PrincipalType !== 'USER') continue;
              const user = users.find((u) => u.id === a.PrincipalId)?.userName ?? `id:${a.PrincipalId}`;
              assignments.push({ user, permissionSet: ps.name, accountId: id });
            }
          }
        }
      }
      return {
        identityCenter: {
          instanceArn,
          identityStoreId: inst.IdentityStoreId!,
          users,
          permissionSets: sets,
          assignments,
        },
        notes: [],
      };
    },

    /** Create an Identity Center user; an existing user of that name is success. */
    async orgCreateUser(step: Step<'createUser'>): Promise<void> {
      const inst = await requireInstance();
      if (await userId(inst.IdentityStoreId!, step.user.userName)) return;
      try {
        await identityStore.send(
          new CreateUserCommand({
            IdentityStoreId: inst.IdentityStoreId,
            UserName: step.user.userName,
            DisplayName: step.user.displayName,
            Name: { GivenName: step.user.givenName, FamilyName: step.user.familyName },
            Emails: [{ Value: step.user.email, Type: 'work', Primary: true }],
          }),
        );
      } catch (err) {
        if (awsErrorName(err) !== 'ConflictException')
          throw classifyAwsError(`create Identity Center user ${step.user.userName}`, err);
      }
    },

    /** Create or update a permission set and attach its managed policies; re-provision after an update. */
    async orgEnsurePermissionSet(step: Step<'ensurePermissionSet'>): Promise<void> {
      const inst = await requireInstance();
      const InstanceArn = inst.InstanceArn!;
      const p = step.permissionSet;
      let found = (await permissionSets(InstanceArn)).find((s) => s.name === p.name);
      if (!found) {
        const out = await aws(`create permission set ${p.name}`, () =>
          ssoAdmin.send(
            new CreatePermissionSetCommand({
              InstanceArn,
              Name: p.name,
              Description: p.description || undefined,
              SessionDuration: p.sessionDuration,
            }),
          ),
        );
        found = { ...p, arn: out.PermissionSet!.PermissionSetArn!, managedPolicies: [] };
      } else if (found.description !== p.description || found.sessionDuration !== p.sessionDuration) {
        await aws(`update permission set ${p.name}`, () =>
          ssoAdmin.send(
            new UpdatePermissionSetCommand({
              InstanceArn,
              PermissionSetArn: found!.arn,
              Description: p.description || undefined,
              SessionDuration: p.sessionDuration,
            }),
          ),
        );
      }
      const PermissionSetArn = found.arn;
      for (const arn of p.managedPolicies.filter((m) => !found.managedPolicies.includes(m))) {
        try {
          await ssoAdmin.send(
            new AttachManagedPolicyToPermissionSetCommand({
              InstanceArn,
              PermissionSetArn,
              ManagedPolicyArn: arn,
            }),
          );
        } catch (err) {
          if (awsErrorName(err) === 'ResourceNotFoundException') {
            throw ApplicationFailure.nonRetryable(
              `permission set ${p.name}: managed policy ${arn} does not exist; fix identityCenter.permissionSets[].managedPolicies in config/org.yaml`,
              ErrorType.BadConfig,
            );
          }
          if (awsErrorName(err) !== 'ConflictException')
            throw classifyAwsError(`attach ${arn} to permission set ${p.name}`, err);
        }
      }
      if (!step.create) {
        await aws(`provision permission set ${p.name}`, () =>
          ssoAdmin.send(
            new ProvisionPermissionSetCommand({
              InstanceArn,
              PermissionSetArn,
              TargetType: 'ALL_PROVISIONED_ACCOUNTS',
            }),
          ),
        );
      }
    },

    /** Assign a user a permission set in an account and wait until Identity Center has provisioned it. */
    async orgCreateAssignment(step: Step<'createAssignment'>): Promise<void> {
      const inst = await requireInstance();
      const InstanceArn = inst.InstanceArn!;
      const a = step.assignment;
      const [principal, account, sets] = await Promise.all([
        userId(inst.IdentityStoreId!, a.user),
        accountId(a.account),
        permissionSets(InstanceArn),
      ]);
      const ps = sets.find((s) => s.name === a.permissionSet);
      if (!principal || !account || !ps)
        throw new Error(
          `assignment ${a.user}/${a.permissionSet}/${a.account}: the user, account or permission set does not exist yet`,
        );
      for await (const page of paginateListAccountAssignments(
        { client: ssoAdmin },
        { InstanceArn, AccountId: account, PermissionSetArn: ps.arn },
      )) {
        if (page.AccountAssignments?.some((x) => x.PrincipalId === principal && x.PrincipalType === 'USER'))
          return;
      }
      const out = await aws(`assign ${a.permissionSet} to ${a.user} in ${a.account}`, () =>
        ssoAdmin.send(
          new CreateAccountAssignmentCommand({
            InstanceArn,
            TargetId: account,
            TargetType: 'AWS_ACCOUNT',
            PermissionSetArn: ps.arn,
            PrincipalType: 'USER',
            PrincipalId: principal,
          }),
        ),
      );
      let status = out.AccountAssignmentCreationStatus;
      while (status?.Status === 'IN_PROGRESS' && status.RequestId) {
        heartbeat();
        await sleep(pollMs);
        const requestId = status.RequestId;
        status = (
          await aws('DescribeAccountAssignmentCreationStatus', () =>
            ssoAdmin.send(
              new DescribeAccountAssignmentCreationStatusCommand({
                InstanceArn,
                AccountAssignmentCreationRequestId: requestId,
              }),
            ),
          )
        ).AccountAssignmentCreationStatus;
      }
      if (status?.Status === 'FAILED') {
        throw ApplicationFailure.nonRetryable(
          `assignment ${a.user}/${a.permissionSet}/${a.account} FAILED: ${status.FailureReason ?? 'no reason given'}`,
          ErrorType.BadConfig,
        );
      }
    },
  };
}
