/** Cost settings: activate the cost allocation tags, create the anomaly monitor. */
import type { DesiredOrg, LiveOrg } from '../types';
import { step, type PlanDraft } from './steps';

/** Activate the declared cost allocation tags billing has seen; create the anomaly monitor. */
export function planCost(live: LiveOrg, desired: DesiredOrg, plan: PlanDraft): void {
  const tags = live.cost.allocationTags;
  if (desired.cost.allocationTags.length > 0 && tags) {
    const inactive = desired.cost.allocationTags.filter((k) =>
      tags.some((t) => t.key === k && t.status !== 'Active'),
    );
    const unseen = desired.cost.allocationTags.filter((k) => !tags.some((t) => t.key === k));
    if (inactive.length > 0) {
      plan.steps.push(
        step(
          { kind: 'activateCostAllocationTags', tags: inactive },
          inactive.join(','),
          `activate cost allocation tags ${inactive.join(', ')}`,
        ),
      );
    }
    if (unseen.length > 0)
      plan.notes.push(
        `cost allocation tags not yet in billing data (activated on a later run): ${unseen.join(', ')}`,
      );
  }
  const monitor = desired.cost.anomalyMonitor;
  if (monitor && live.cost.anomalyMonitors && !live.cost.anomalyMonitors.includes(monitor.name)) {
    plan.steps.push(
      step(
        { kind: 'createAnomalyMonitor', name: monitor.name },
        monitor.name,
        `create Cost Anomaly Detection monitor ${monitor.name} (per AWS service)`,
      ),
    );
  }
}
