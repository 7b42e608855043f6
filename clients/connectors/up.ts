/**
 * The `sv0 up` step of the connectors family: validate connectors.yaml (also against the worker's
 * settings, worker.yaml) and notifications.yaml, then
 * make the `connector-*` schedules match and start (or reconfigure) connector-health.
 */
import { WorkflowIds } from '../../lib/names';
import { loadConnectorsConfig, loadNotificationsConfig } from '../../lib/runtime/config';
import { checkConnectorsForWorker } from '../../lib/runtime/worker-settings';
import type { UpStep } from '../up-step';
import { applyConnectorSchedules } from './schedules';

/** The `sv0 up` step: validate connectors.yaml and notifications.yaml, then apply the schedules and start the health check. */
export const connectorsUpStep: UpStep = {
  name: 'connector schedules',
  validate(ctx) {
    checkConnectorsForWorker(ctx.configDir, loadConnectorsConfig(ctx.configDir));
    loadNotificationsConfig(ctx.configDir);
  },
  async run(ctx) {
    const result = await applyConnectorSchedules(
      ctx.client,
      loadConnectorsConfig(ctx.configDir),
      loadNotificationsConfig(ctx.configDir),
    );
    const changed = result.changes.filter((c) => c.action !== 'unchanged');
    return {
      status: changed.length > 0 ? 'updated' : 'unchanged',
      detail: `${changed.map((c) => `${c.action} ${c.scheduleId}`).join(', ') || 'schedules match connectors.yaml'}; connector-health ${result.health}`,
      items: [
        ...result.changes.filter((c) => c.action !== 'delete').map((c) => c.scheduleId),
        WorkflowIds.connectorHealth,
      ],
    };
  },
};
