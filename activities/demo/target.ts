/**
 * How demo activities reach a sandbox account: assume the worker's orchestrator role there (with
 * the external id, resolved here from its reference) and check, against the worker's own sandbox
 * settings, the live organization and the account's aliases, that it really is a sandbox account
 * before anything there changes. What a workflow's input says about sandboxes is never trusted.
 */
import { ListAccountAliasesCommand } from '@aws-sdk/client-iam';
import {
  DescribeAccountCommand,
  DescribeOrganizationCommand,
  OrganizationsClient,
  paginateListPoliciesForTarget,
} from '@aws-sdk/client-organizations';
import { ApplicationFailure } from '@temporalio/common';
import type { DeployAccess } from '../../lib/contracts/demo';
import { assertWorkerSandboxTarget, type WorkerSandbox } from '../../lib/sandbox';
import { ErrorType, FREEZE_POLICY_NAME } from '../../lib/names';
import type { AwsClientConfig } from '../../lib/runtime/aws';
import { assumeRoleConfig } from '../aws/session';
import { secretFailure } from '../secrets/errors';
import type { SecretResolver } from '../secrets/resolve';
import { tagClients, type TagClients } from './tagged-resources';

/** What the demo and sweep activities are built with. */
export interface DemoActivitiesDeps {
  /** Settings for the orchestrator's own (management account) credentials. */
  aws: AwsClientConfig;
  /** Resolves a target's external id reference, here and only here. */
  secrets: Pick<SecretResolver, 'resolveSecret'>;
  /**
   * The worker's sandbox settings (worker.yaml `sandbox`): the accounts destructive actions may
   * touch, the pinned management account and the one role assumed in them.
   */
  sandbox: WorkerSandbox & { orchestratorRole: string };
  /** Builds the per-account clients; tests wrap it to inject a failure at the SDK boundary. */
  makeClients?: (config: AwsClientConfig) => TagClients;
}

/** Sessions in sandbox accounts and the live sandbox check, for one set of deps. */
export function sandboxAccess(deps: DemoActivitiesDeps) {
  const makeClients = deps.makeClients ?? tagClients;

  /** Clients in the target account, through the worker's orchestrator role there. */
  async function session(target: DeployAccess, sessionName: string): Promise<TagClients> {
    if (target.roleName !== deps.sandbox.orchestratorRole)
      throw ApplicationFailure.nonRetryable(
        `role ${target.roleName} is not the worker's orchestrator role (${deps.sandbox.orchestratorRole}, sandbox.orchestratorRole in worker.yaml); demo activities assume no other role`,
        ErrorType.SandboxRefused,
      );
    let externalId = target.externalId;
    if (target.externalIdRef)
      externalId = await deps.secrets.resolveSecret(target.externalIdRef).catch(secretFailure);
    try {
      const config = await assumeRoleConfig(deps.aws, {
        accountId: target.accountId,
        roleName: target.roleName,
        externalId,
        sessionName,
      });
      const home = makeClients(config);
      const regional = new Map<string, TagClients>();
      const inRegion = (region: string): TagClients => {
        if (region === config.region) return home;
        let c = regional.get(region);
        if (!c) regional.set(region, (c = { ...makeClients({ ...config, region }), inRegion }));
        return c;
      };
      return { ...home, inRegion };
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

  /**
   * Check the target against the worker's sandbox settings, the live organization (its management
   * account, the account's name there) and the account's own aliases. `managementAccountId`, when
   * the caller gives one, must be the live one too.
   */
  async function checkLiveSandbox(
    input: { target: DeployAccess; managementAccountId?: string },
    c: TagClients,
  ): Promise<void> {
    const orgs = new OrganizationsClient(deps.aws);
    const live = await orgs.send(new DescribeOrganizationCommand({}));
    const liveMgmt = live.Organization?.MasterAccountId ?? '';
    if (input.managementAccountId !== undefined && liveMgmt !== input.managementAccountId) {
      throw ApplicationFailure.nonRetryable(
        `the organization's management account is ${liveMgmt}, not ${input.managementAccountId} as given`,
        ErrorType.SandboxRefused,
      );
    }
    const account = await orgs
      .send(new DescribeAccountCommand({ AccountId: input.target.accountId }))
      .catch((err: unknown) => {
        if (['AccountNotFoundException', 'InvalidInputException'].includes((err as Error).name))
          throw ApplicationFailure.nonRetryable(
            `account ${input.target.accountId} is not an account of this organization; demo activities act only in its sandbox accounts`,
            ErrorType.SandboxRefused,
          );
        throw err;
      });
    const aliases = (await c.iam.send(new ListAccountAliasesCommand({}))).AccountAliases ?? [];
    assertWorkerSandboxTarget({
      accountId: input.target.accountId,
      accountName: account.Account?.Name ?? '',
      aliases,
      managementAccountId: liveMgmt,
      sandbox: deps.sandbox,
    });
  }

  /** A session in the target account after the sandbox check: for every activity that changes something. */
  async function sandboxSession(
    input: { target: DeployAccess; managementAccountId?: string },
    sessionName: string,
  ): Promise<TagClients> {
    const c = await session(input.target, sessionName);
    await checkLiveSandbox(input, c);
    return c;
  }

  /**
   * Refuse (non-retryable AccountFrozen) when FreezeAccount is attached to the account, read from
   * the management account: a budget froze it, or a person did with `sv0 budget freeze`.
   */
  async function checkNotFrozen(target: DeployAccess): Promise<void> {
    const orgs = new OrganizationsClient(deps.aws);
    for await (const page of paginateListPoliciesForTarget(
      { client: orgs },
      { TargetId: target.accountId, Filter: 'SERVICE_CONTROL_POLICY' },
    )) {
      if ((page.Policies ?? []).some((p) => p.Name === FREEZE_POLICY_NAME && !p.AwsManaged))
        throw ApplicationFailure.nonRetryable(
          `account ${target.accountName} (${target.accountId}) is frozen: ${FREEZE_POLICY_NAME} is attached (a budget freeze), so no demo starts there; \`sv0 budget status\` names the budget, \`sv0 budget unfreeze NAME --by WHO --reason TEXT\` lifts it (the next UTC month does too)`,
          ErrorType.AccountFrozen,
        );
    }
  }

  return { session, sandboxSession, checkNotFrozen };
}
