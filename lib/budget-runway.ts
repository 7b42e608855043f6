/**
 * Promotional credits and how long they last: the starting balance budgets.yaml declares, minus the
 * credits Cost Explorer shows used since then, and the months of runway at the current burn (the
 * credits used over the last 30 days of billing data). Cost Explorer's data lags about a day, so
 * every figure is as of its last complete day. Pure arithmetic and dates; the reads are the CLI's.
 */

/** Days of billing data the burn is measured over. */
export const BURN_WINDOW_DAYS = 30;
/** An average month, for months of runway. */
const DAYS_PER_MONTH = 365.25 / 12;

const DAY_MS = 86_400_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const midnight = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS;

/**
 * The Cost Explorer periods (end exclusive, UTC dates) the runway reads: every day since the
 * balance's date, and the burn window (the last {@link BURN_WINDOW_DAYS} complete days, never before
 * `since`). Both end today, which Cost Explorer has little or nothing of yet.
 */
export function runwayPeriods(since: string, now: number): { used: Period; burn: Period & { days: number } } {
  const today = midnight(now);
  const sinceMs = Date.parse(`${since}T00:00:00Z`);
  const burnStart = Math.max(today - BURN_WINDOW_DAYS * DAY_MS, sinceMs);
  return {
    used: { Start: since, End: day(Math.max(today, sinceMs + DAY_MS)) },
    burn: {
      Start: day(burnStart),
      End: day(Math.max(today, burnStart + DAY_MS)),
      days: Math.max(1, Math.round((today - burnStart) / DAY_MS)),
    },
  };
}

export interface Period {
  Start: string;
  End: string;
}

/** What `sv0 budget status` shows about credits. Amounts in US dollars. */
export interface CreditsRunway {
  startingBalance: number;
  since: string;
  /** Credits used from `since` to the last day of billing data. */
  used: number;
  remaining: number;
  /** Credits used per average month, at the rate of the burn window. */
  burnPerMonth: number;
  /** Months until `remaining` is spent at that burn; undefined when nothing burns (no data yet). */
  runwayMonths?: number;
  /** The billing data ends before this day (UTC); it lags about a day. */
  dataThrough: string;
}

/**
 * Credits left and months of runway from the credits used since the balance's date (`usedSince`)
 * and over the burn window (`usedInWindow` over `windowDays`). Both are positive amounts.
 */
export function creditsRunway(input: {
  startingBalance: number;
  since: string;
  usedSince: number;
  usedInWindow: number;
  windowDays: number;
  dataThrough: string;
}): CreditsRunway {
  const remaining = input.startingBalance - input.usedSince;
  const burnPerMonth = (input.usedInWindow / input.windowDays) * DAYS_PER_MONTH;
  return {
    startingBalance: input.startingBalance,
    since: input.since,
    used: round(input.usedSince),
    remaining: round(remaining),
    burnPerMonth: round(burnPerMonth),
    ...(burnPerMonth > 0
      ? { runwayMonths: Math.max(0, Math.round((remaining / burnPerMonth) * 10) / 10) }
      : {}),
    dataThrough: input.dataThrough,
  };
}

const round = (n: number) => Math.round(n * 100) / 100;

/** One line for people: "$3,210.50 of $5,000.00 credits left; burn $640.00/month; runway 5.0 months". */
export function runwayLine(r: CreditsRunway): string {
  const usd = (n: number) =>
    `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  const runway =
    r.runwayMonths === undefined
      ? 'runway unknown (no credits used in the last 30 days)'
      : `runway ${r.runwayMonths.toFixed(1)} months`;
  return `credits: ${usd(r.remaining)} of ${usd(r.startingBalance)} left (used ${usd(r.used)} since ${r.since}); burn ${usd(r.burnPerMonth)}/month over the last 30 days; ${runway}. Cost Explorer data through ${r.dataThrough}, about a day behind.`;
}
