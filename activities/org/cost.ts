import {
  type CostExplorerClient,
  CreateAnomalyMonitorCommand,
  GetAnomalyMonitorsCommand,
  ListCostAllocationTagsCommand,
  UpdateCostAllocationTagsStatusCommand,
} from '@aws-sdk/client-cost-explorer';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../lib/names';
import type { LiveOrg, PlanStep } from '../../lib/org/types';
import { aws, readUnlessLocallyUnavailable } from '../aws/errors';

export interface CostDeps {
  /** Cost Explorer client in the management account (the API lives in us-east-1). */
  ce: Pick<CostExplorerClient, 'send'>;
  /**
   * True against moto, which has no Cost Explorer for these calls: the read then reports the API
   * unavailable in a note instead of retrying a call that can never work.
   */
  localEndpoint: () => Promise<boolean>;
}

type Step<K extends PlanStep['kind']> = Extract<PlanStep, { kind: K }>;

/**
 * Cost settings of the bootstrap's second day: activate the cost allocation tags and create a Cost Anomaly
 * Detection monitor. AWS can only activate tags it has seen in billing data, so tags it does not
 * list yet are noted, not failed.
 */
export function createCostActivities(deps: CostDeps) {
  const { ce } = deps;

  const orUnavailable = readUnlessLocallyUnavailable(deps.localEndpoint);

  return {
    /** Status of the declared cost allocation tags and the names of the anomaly monitors. */
    async orgReadCost(input: { tagKeys: string[] }): Promise<{ cost: LiveOrg['cost']; notes: string[] }> {
      const notes: string[] = [];
      const tags = input.tagKeys.length
        ? await orUnavailable(
            'Cost Explorer ListCostAllocationTags',
            async () => {
              const out: { key: string; status: string }[] = [];
              let NextToken: string | undefined;
              do {
                const page = await ce.send(
                  new ListCostAllocationTagsCommand({
                    TagKeys: input.tagKeys,
                    Type: 'UserDefined',
                    NextToken,
                  }),
                );
                for (const t of page.CostAllocationTags ?? [])
                  if (t.TagKey) out.push({ key: t.TagKey, status: String(t.Status ?? 'Inactive') });
                NextToken = page.NextToken;
              } while (NextToken);
              return out;
            },
            notes,
          )
        : [];
      const monitors = await orUnavailable(
        'Cost Explorer GetAnomalyMonitors',
        async () => {
          const names: string[] = [];
          let NextPageToken: string | undefined;
          do {
            const page = await ce.send(new GetAnomalyMonitorsCommand({ NextPageToken }));
            for (const m of page.AnomalyMonitors ?? []) if (m.MonitorName) names.push(m.MonitorName);
            NextPageToken = page.NextPageToken;
          } while (NextPageToken);
          return names;
        },
        notes,
      );
      return {
        cost: {
          ...(tags ? { allocationTags: tags } : {}),
          ...(monitors ? { anomalyMonitors: monitors } : {}),
        },
        notes,
      };
    },

    /** Activate cost allocation tags; a tag AWS refuses (not yet in billing data) fails the step with its reason. */
    async orgActivateCostAllocationTags(step: Step<'activateCostAllocationTags'>): Promise<void> {
      const out = await aws('activate cost allocation tags', () =>
        ce.send(
          new UpdateCostAllocationTagsStatusCommand({
            CostAllocationTagsStatus: step.tags.map((TagKey) => ({ TagKey, Status: 'Active' })),
          }),
        ),
      );
      const errors = out.Errors ?? [];
      if (errors.length > 0) {
        throw ApplicationFailure.nonRetryable(
          `cost allocation tags not activated: ${errors.map((e) => `${e.TagKey}: ${e.Code ?? ''} ${e.Message ?? ''}`.trim()).join('; ')}`,
          ErrorType.BadConfig,
        );
      }
    },

    /** Create a Cost Anomaly Detection monitor per AWS service, unless one of that name exists. */
    async orgCreateAnomalyMonitor(step: Step<'createAnomalyMonitor'>): Promise<void> {
      const existing = await aws('GetAnomalyMonitors', () => ce.send(new GetAnomalyMonitorsCommand({})));
      if (existing.AnomalyMonitors?.some((m) => m.MonitorName === step.name)) return;
      await aws(`create anomaly monitor ${step.name}`, () =>
        ce.send(
          new CreateAnomalyMonitorCommand({
            AnomalyMonitor: {
              MonitorName: step.name,
              MonitorType: 'DIMENSIONAL',
              MonitorDimension: 'SERVICE',
            },
          }),
        ),
      );
    },
  };
}
