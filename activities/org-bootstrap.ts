import type { BudgetsClient } from '@aws-sdk/client-budgets';
import type { CostExplorerClient } from '@aws-sdk/client-cost-explorer';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { IdentitystoreClient } from '@aws-sdk/client-identitystore';
import type { OrganizationsClient } from '@aws-sdk/client-organizations';
import type { SSOAdminClient } from '@aws-sdk/client-sso-admin';
import type { STSClient } from '@aws-sdk/client-sts';
import { createCostActivities } from './cost-explorer';
import { createIdentityCenterActivities } from './identity-center';
import { createOrgAccountsActivities } from './org-accounts';
import { createOrgBudgetsActivities } from './org-budgets';
import { createOrganizationsActivities } from './organizations';
import { createOrgRolesActivities } from './org-roles';

/** Every client the org bootstrap needs, all with management account credentials. */
export interface OrgBootstrapDeps {
  organizations: OrganizationsClient;
  sts: STSClient;
  budgets: BudgetsClient;
  ssoAdmin: SSOAdminClient;
  identityStore: IdentitystoreClient;
  ce: Pick<CostExplorerClient, 'send'>;
  /** IAM in an account of the organization (see `iamThroughAccessRole`). */
  iamFor(accountId: string): Promise<IAMClient>;
  /** True against moto (placeholder emails allowed, Cost Explorer absent). */
  localEndpoint: boolean;
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
  };
}
