import { BudgetsClient } from '@aws-sdk/client-budgets';
import { CostExplorerClient } from '@aws-sdk/client-cost-explorer';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { createBudgetActivities } from '../activities/budget/guard';
import { createDemoCostActivities } from '../activities/demo/cost';
import { createDemoLifecycleActivities } from '../activities/demo/lifecycle';
import { createDemoSweepActivities } from '../activities/demo/sweep';
import { createDemoControlActivities } from '../activities/demo/control';
import { connectClient } from '../lib/runtime/temporal';
import { createConnectorAfterActivities } from '../activities/connectors/after';
import { createConnectorSyncActivities } from '../activities/connectors/sync';
import { createDockerRunner } from '../activities/connectors/containers';
import { createNotifyActivities } from '../activities/notify';
import { createSmokeActivities } from '../activities/smoke';
import { createOrgBootstrapActivities, orgBootstrapDeps } from '../activities/org';
import { snsClient, stsClient, type WorkerDeps } from './deps';

/**
 * The activities of each task queue, built from real clients. Each family adds its factory here;
 * tests build the same way with clients pointed at local servers.
 */
export function createInfraActivities(deps: WorkerDeps) {
  const organizations = new OrganizationsClient(deps.aws);
  const sandbox = deps.settings.sandbox;
  // Cost Explorer is served from us-east-1, whatever the worker's region.
  const ce = new CostExplorerClient({ ...deps.aws, region: 'us-east-1' });
  return {
    ...createSmokeActivities({ sts: stsClient(deps), docker: deps.docker }),
    ...createNotifyActivities({
      sns: snsClient(deps),
      logger: deps.logger,
      secrets: deps.secrets,
      settings: deps.settings,
    }),
    ...createBudgetActivities({
      budgets: new BudgetsClient(deps.aws),
      organizations,
      sts: stsClient(deps),
      sandbox,
    }),
    ...createDemoLifecycleActivities({
      aws: deps.aws,
      secrets: deps.secrets,
      sandbox,
      configDir: deps.configDir,
      ce,
    }),
    ...createDemoCostActivities({ ce }),
    ...createDemoSweepActivities({
      aws: deps.aws,
      secrets: deps.secrets,
      sandbox,
      configDir: deps.configDir,
    }),
    // A lazy client from the same TEMPORAL_* settings: connects only when a demo is controlled.
    ...createDemoControlActivities({ client: () => connectClient(), organizations, sandbox }),
    ...createOrgBootstrapActivities(orgBootstrapDeps(deps.aws)),
  };
}

export function createConnectorActivities(deps: WorkerDeps) {
  return {
    ...createSmokeActivities({ sts: stsClient(deps), docker: deps.docker }),
    ...createNotifyActivities({
      sns: snsClient(deps),
      logger: deps.logger,
      secrets: deps.secrets,
      settings: deps.settings,
    }),
    ...createConnectorSyncActivities({
      runner: createDockerRunner({ docker: deps.docker, logger: deps.logger }),
      secrets: deps.secrets,
      logger: deps.logger,
      settings: deps.settings,
      aws: deps.aws,
    }),
    ...createConnectorAfterActivities({ logger: deps.logger }),
  };
}
