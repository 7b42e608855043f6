/**
 * How demo activities reach a sandbox account: assume its deploy role (with the external id,
 * resolved here from its reference) and check, against the live organization and the account's
 * own aliases, that it really is a sandbox account before anything there changes.
 */
import { ListAccountAliasesCommand } from '@aws-sdk/client-iam';
import {
  DescribeAccountCommand,
  DescribeOrganizationCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { ApplicationFailure } from '@temporalio/common';
import type { DeployAccess } from '../../lib/contracts/demo';
import { assertSandboxTarget, type SandboxOrg } from '../../lib/sandbox';
import { ErrorType } from '../../lib/names';
import type { AwsClientConfig } from '../../lib/runtime/aws';
import { assumeRoleConfig } from '../aws/session';
import type { SecretResolver } from '../secrets/resolve';
import { tagClients, type TagClients } from './tagged-resources';

/** What the demo and sweep activities are built with. */
export interface DemoActivitiesDeps {
  /** Settings for the orchestrator's own (management account) credentials. */
  aws: AwsClientConfig;
  /** Resolves a target's external id reference, here and only here. */
  secrets: Pick<SecretResolver, 'resolveSecret'>;
  /** Builds the per-account clients; tests wrap it to inject a failure at the SDK boundary. */
  makeClients?: (config: AwsClientConfig) => TagClients;
}

/** A target account and the organization it must be a sandbox account of. */
export interface SandboxCheckInput {
  target: DeployAccess;
  org: SandboxOrg;
  managementAccountId: string;
}

/** Sessions in sandbox accounts and the live sandbox check, for one set of deps. */
export function sandboxAccess(deps: DemoActivitiesDeps) {
  const makeClients = deps.makeClients ?? tagClients;

  /** Clients in the target account, through its deploy role. */
  async function session(target: DeployAccess, sessionName: string): Promise<TagClients> {
    let externalId = target.externalId;
    if (target.externalIdRef) externalId = await deps.secrets.resolveSecret(target.externalIdRef);
    try {
      const config = await assumeRoleConfig(deps.aws, {
        accountId: target.accountId,
        roleName: target.roleName,
        externalId,
        sessionName,
      });
      return makeClients(config);
    } catch (err) {
      // The message names role and account, never the external id.
      const e = err as Error;
      if (/AccessDenied/.test(e.name)) {
        throw ApplicationFailure.nonRetryable(
          `cannot assume ${target.roleName} in ${target.accountId}: ${e.message}; check the role's trust policy and external id`,
          ErrorType.AccessDenied,
        );
      }
      throw err;
    }
  }

  /** Check the sandbox rules against the live organization and the account's own aliases. */
  async function checkLiveSandbox(input: SandboxCheckInput, c: TagClients): Promise<void> {
    const orgs = new OrganizationsClient(deps.aws);
    const live = await orgs.send(new DescribeOrganizationCommand({}));
    const liveMgmt = live.Organization?.MasterAccountId ?? '';
    if (liveMgmt !== input.managementAccountId) {
      throw ApplicationFailure.nonRetryable(
        `the organization's management account is ${liveMgmt}, not ${input.managementAccountId} as given`,
        ErrorType.SandboxRefused,
      );
    }
    const account = await orgs.send(new DescribeAccountCommand({ AccountId: input.target.accountId }));
    const aliases = (await c.iam.send(new ListAccountAliasesCommand({}))).AccountAliases ?? [];
    assertSandboxTarget({
      accountId: input.target.accountId,
      accountName: account.Account?.Name ?? '',
      aliases,
      org: input.org,
      managementAccountId: liveMgmt,
    });
  }

  return { session, checkLiveSandbox };
}
