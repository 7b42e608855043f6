import { createNotifyActivities } from '../activities/notify';
import { createSmokeActivities } from '../activities/smoke';
import { snsClient, stsClient, type WorkerDeps } from './deps';

/**
 * The activities of each task queue, built from real clients. Each family adds its factory here;
 * tests build the same way with clients pointed at local servers.
 */
export function createInfraActivities(deps: WorkerDeps, extra: { resolveSecret: (ref: string) => Promise<string> }) {
  return {
    ...createSmokeActivities({ sts: stsClient(deps), docker: deps.docker }),
    ...createNotifyActivities({ sns: snsClient(deps), logger: deps.logger, resolveSecret: extra.resolveSecret }),
  };
}

export function createConnectorActivities(deps: WorkerDeps, extra: { resolveSecret: (ref: string) => Promise<string> }) {
  return {
    ...createSmokeActivities({ sts: stsClient(deps), docker: deps.docker }),
    ...createNotifyActivities({ sns: snsClient(deps), logger: deps.logger, resolveSecret: extra.resolveSecret }),
  };
}
