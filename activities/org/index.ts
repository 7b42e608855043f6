/**
 * The org bootstrap's activities, one module per kind of AWS resource, and the real clients they
 * run with. Every step is idempotent and names what it touches; reads go through the same clients.
 */
import { BudgetsClient } from '@aws-sdk/client-budgets';
import { CostExplorerClient } from '@aws-sdk/client-cost-explorer';
import type { IAMClient } from '@aws-sdk/client-iam';
import { IdentitystoreClient } from '@aws-sdk/client-identitystore';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSOAdminClient } from '@aws-sdk/client-sso-admin';
import { STSClient } from '@aws-sdk/client-sts';
import { type AwsClientConfig, isLocalAwsEndpoint } from '../../lib/runtime/aws';
import { createOrgAccountsActivities } from './accounts';
import { createOrgBackstopActivities } from './backstop';
import { createOrgBudgetsActivities } from './budgets';
import { createOrgConnectorCredentialsActivities } from './connector-credentials';
import { createCostActivities } from './cost';
import { createIdentityCenterActivities } from './identity-center';
import { createOrganizationsActivities } from './organizations';
import { createOrgRolesActivities, iamThroughAccessRole } from './roles';

/** Every client the org bootstrap needs, all with management account credentials. */
export interface OrgBootstrapDeps {
  organizations: OrganizationsClient;
  sts: STSClient;
  budgets: BudgetsClient;
  /** SNS in us-east-1: the budget alerts topic. */
  sns: SNSClient;
  ssoAdmin: SSOAdminClient;
  identityStore: IdentitystoreClient;
  ce: Pick<CostExplorerClient, 'send'>;
  /** IAM in an account of the organization (see `iamThroughAccessRole`). */
  iamFor(accountId: string): Promise<IAMClient>;
  /** True against moto (placeholder emails allowed, Cost Explorer absent), from the resolved endpoint. */
  localEndpoint: () => Promise<boolean>;
  /** Pause between polls of asynchronous AWS requests. @default 10 s for accounts, 2 s for assignments */
  pollIntervalMs?: number;
}

/** The org bootstrap's activities: reads of the live organization and one idempotent activity per kind of step. */
export function createOrgBootstrapActivities(deps: OrgBootstrapDeps) {
  const poll = deps.pollIntervalMs !== undefined ? { pollIntervalMs: deps.pollIntervalMs } : {};
  return {
    ...createOrganizationsActivities(deps),
    ...createOrgAccountsActivities({ organizations: deps.organizations, ...poll }),
    ...createOrgRolesActivities(deps),
    ...createOrgBudgetsActivities(deps),
    ...createIdentityCenterActivities(deps),
    ...createCostActivities(deps),
    ...createOrgBackstopActivities(deps),
    ...createOrgConnectorCredentialsActivities(deps),
  };
}

/**
 * Real clients for the org bootstrap from one AWS config (the management account's credentials).
 * Organizations, Budgets and Cost Explorer are global services served from us-east-1; the budget
 * alerts topic lives there too.
 */
export function orgBootstrapDeps(
  aws: AwsClientConfig,
  overrides: Partial<OrgBootstrapDeps> = {},
): OrgBootstrapDeps {
  const global = { ...aws, region: 'us-east-1' };
  const organizations = new OrganizationsClient(global);
  let local: Promise<boolean> | undefined;
  return {
    organizations,
    sts: new STSClient(aws),
    budgets: new BudgetsClient(global),
    sns: new SNSClient(global),
    ssoAdmin: new SSOAdminClient(aws),
    identityStore: new IdentitystoreClient(aws),
    ce: new CostExplorerClient(global),
    iamFor: iamThroughAccessRole(aws),
    localEndpoint: () => (local ??= isLocalAwsEndpoint(organizations)),
    ...overrides,
  };
}
