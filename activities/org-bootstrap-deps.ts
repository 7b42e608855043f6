import { BudgetsClient } from '@aws-sdk/client-budgets';
import { CostExplorerClient } from '@aws-sdk/client-cost-explorer';
import { IdentitystoreClient } from '@aws-sdk/client-identitystore';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { SSOAdminClient } from '@aws-sdk/client-sso-admin';
import { STSClient } from '@aws-sdk/client-sts';
import { type AwsClientConfig, isLocalEndpoint } from './aws-session';
import type { OrgBootstrapDeps } from './org-bootstrap';
import { iamThroughAccessRole } from './org-roles';

/**
 * Real clients for the org bootstrap from one AWS config (the management account's credentials).
 * Organizations, Budgets and Cost Explorer are global services served from us-east-1.
 */
export function orgBootstrapDeps(
  aws: AwsClientConfig,
  overrides: Partial<OrgBootstrapDeps> = {},
): OrgBootstrapDeps {
  const global = { ...aws, region: 'us-east-1' };
  return {
    organizations: new OrganizationsClient(global),
    sts: new STSClient(aws),
    budgets: new BudgetsClient(global),
    ssoAdmin: new SSOAdminClient(aws),
    identityStore: new IdentitystoreClient(aws),
    ce: new CostExplorerClient(global),
    iamFor: iamThroughAccessRole(aws),
    localEndpoint: isLocalEndpoint(aws),
    ...overrides,
  };
}
