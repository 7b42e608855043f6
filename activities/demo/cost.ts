/**
 * A demo's cost so far, for its summary: Cost Explorer in the management account (the payer), the
 * costs tagged `sv0:demo=<id>` in the demo's account from the day it started. Billing data lags
 * about a day and a tag counts only once it is an activated cost allocation tag, so the answer is
 * labelled delayed; a read that fails says why and never fails the teardown.
 */
import { type CostExplorerClient, GetCostAndUsageCommand } from '@aws-sdk/client-cost-explorer';
import type { DemoCost } from '../../lib/contracts/demo';
import { ReadDemoCostInputSchema } from '../../lib/contracts/demo-inputs';
import { Tags } from '../../lib/names';
import { validInput } from '../input';

export interface DemoCostDeps {
  /** Cost Explorer with the management account's credentials (the API lives in us-east-1). */
  ce: Pick<CostExplorerClient, 'send'>;
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export function createDemoCostActivities(deps: DemoCostDeps) {
  return {
    /** The cost of what carries the demo's tag in its account since its start; `unavailable` with the reason otherwise. */
    async readDemoCost(raw: { demoId: string; accountId: string; startedAt: string }): Promise<DemoCost> {
      const input = validInput(ReadDemoCostInputSchema, raw, 'readDemoCost');
      const from = day(Date.parse(input.startedAt));
      const through = day(Date.now());
      try {
        const out = await deps.ce.send(
          new GetCostAndUsageCommand({
            // The end is exclusive: tomorrow, so that today's (partial) data counts.
            TimePeriod: { Start: from, End: day(Date.now() + 86_400_000) },
            Granularity: 'MONTHLY',
            Metrics: ['UnblendedCost'],
            Filter: {
              And: [
                { Dimensions: { Key: 'LINKED_ACCOUNT', Values: [input.accountId] } },
                { Tags: { Key: Tags.demo, Values: [input.demoId], MatchOptions: ['EQUALS'] } },
              ],
            },
          }),
        );
        const amount = (out.ResultsByTime ?? []).reduce(
          (sum, r) => sum + Number(r.Total?.UnblendedCost?.Amount ?? 0),
          0,
        );
        if (!Number.isFinite(amount)) return { unavailable: 'Cost Explorer returned no amount' };
        return { amount: Math.round(amount * 100) / 100, currency: 'USD', from, through, delayed: true };
      } catch (err) {
        // The error's name says enough (AccessDenied, DataUnavailable); its message may quote the request.
        return { unavailable: `Cost Explorer GetCostAndUsage failed: ${(err as Error).name}` };
      }
    },
  };
}
