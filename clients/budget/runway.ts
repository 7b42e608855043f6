/**
 * Credits left and months of runway for `sv0 budget status`: two Cost Explorer reads of the credits
 * used (record type Credit, which Cost Explorer books as negative cost), from the management
 * account's credentials. Cost Explorer charges per request, so the status command makes two.
 */
import { type CostExplorerClient, GetCostAndUsageCommand } from '@aws-sdk/client-cost-explorer';
import type { CreditsConfig } from '../../lib/config/budgets';
import { creditsRunway, runwayPeriods, type CreditsRunway, type Period } from '../../lib/budget-runway';

/** Credits used in `period`, as a positive amount. */
async function creditsUsed(ce: Pick<CostExplorerClient, 'send'>, period: Period): Promise<number> {
  const out = await ce.send(
    new GetCostAndUsageCommand({
      TimePeriod: period,
      Granularity: 'MONTHLY',
      Metrics: ['UnblendedCost'],
      Filter: { Dimensions: { Key: 'RECORD_TYPE', Values: ['Credit'] } },
    }),
  );
  const total = (out.ResultsByTime ?? []).reduce(
    (sum, r) => sum + Number(r.Total?.UnblendedCost?.Amount ?? 0),
    0,
  );
  if (!Number.isFinite(total)) throw new Error('Cost Explorer returned no amount for credits');
  return Math.abs(total);
}

/** Read the credits used since the balance's date and over the burn window; compute the runway. */
export async function readCreditsRunway(
  ce: Pick<CostExplorerClient, 'send'>,
  credits: CreditsConfig,
  now: number = Date.now(),
): Promise<CreditsRunway> {
  const periods = runwayPeriods(credits.since, now);
  const [usedSince, usedInWindow] = await Promise.all([
    creditsUsed(ce, periods.used),
    creditsUsed(ce, { Start: periods.burn.Start, End: periods.burn.End }),
  ]);
  const lastDay = new Date(Date.parse(`${periods.used.End}T00:00:00Z`) - 86_400_000)
    .toISOString()
    .slice(0, 10);
  return creditsRunway({
    startingBalance: credits.startingBalance,
    since: credits.since,
    usedSince,
    usedInWindow,
    windowDays: periods.burn.days,
    dataThrough: lastDay,
  });
}
