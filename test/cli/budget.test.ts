import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCreditsRunway } from '../../clients/budget/runway';
import { runwayLine } from '../../lib/budget-runway';
import { sv0 } from '../harness/cli';
import { fakeCostExplorer } from '../harness/org-fixtures';

const CONFIG = path.resolve(__dirname, '../../config');
const NOW = Date.parse('2026-12-07T12:00:00Z');
const CREDITS = { startingBalance: 5000, since: '2026-11-01' };

/** Credits used each day from `from` up to (not including) `to`. */
function daily(from: string, to: string, amount: number): { date: string; amount: number }[] {
  const out: { date: string; amount: number }[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t < Date.parse(`${to}T00:00:00Z`); t += 86_400_000)
    out.push({ date: new Date(t).toISOString().slice(0, 10), amount });
  return out;
}

describe('credits and runway (Cost Explorer through the thin fake at the SDK-client boundary)', () => {
  it('subtracts the credits used since the balance date and gives months of runway at the last 30 days of burn', async () => {
    const cost = fakeCostExplorer([]);
    // $10 a day in November's first week, then $20 a day; today's partial data is not counted.
    cost.state.credits = [
      ...daily('2026-11-01', '2026-11-07', 10),
      ...daily('2026-11-07', '2026-12-07', 20),
      { date: '2026-12-07', amount: 999 },
      // Before the balance's date: not this balance's.
      { date: '2026-10-31', amount: 500 },
    ];
    const runway = await readCreditsRunway(cost.ce, CREDITS, NOW);
    expect(runway).toEqual({
      startingBalance: 5000,
      since: '2026-11-01',
      used: 660,
      remaining: 4340,
      // $600 over 30 days, per average month of 30.44 days.
      burnPerMonth: 608.75,
      runwayMonths: 7.1,
      dataThrough: '2026-12-06',
    });
    // Credits only, by record type; the periods end today (exclusive), as Cost Explorer writes them.
    expect(cost.state.costQueries.map((q) => [q.TimePeriod, q.Filter])).toEqual([
      [
        { Start: '2026-11-01', End: '2026-12-07' },
        { Dimensions: { Key: 'RECORD_TYPE', Values: ['Credit'] } },
      ],
      [
        { Start: '2026-11-07', End: '2026-12-07' },
        { Dimensions: { Key: 'RECORD_TYPE', Values: ['Credit'] } },
      ],
    ]);
    expect(runwayLine(runway)).toBe(
      'credits: $4,340.00 of $5,000.00 left (used $660.00 since 2026-11-01); burn $608.75/month over the last 30 days; runway 7.1 months. Cost Explorer data through 2026-12-06, about a day behind.',
    );
  });

  it('measures the burn from the balance date when it is younger than 30 days, and says when nothing burns yet', async () => {
    const cost = fakeCostExplorer([]);
    cost.state.credits = daily('2026-12-01', '2026-12-07', 30);
    const young = await readCreditsRunway(cost.ce, { startingBalance: 1000, since: '2026-12-01' }, NOW);
    // $180 over 6 days: $30 a day.
    expect(young).toMatchObject({ used: 180, remaining: 820, burnPerMonth: 913.13, runwayMonths: 0.9 });
    expect(cost.state.costQueries[1]!.TimePeriod).toEqual({ Start: '2026-12-01', End: '2026-12-07' });

    const idle = await readCreditsRunway(fakeCostExplorer([]).ce, CREDITS, NOW);
    expect(idle).toMatchObject({ used: 0, remaining: 5000, burnPerMonth: 0 });
    expect(idle.runwayMonths).toBeUndefined();
    expect(runwayLine(idle)).toContain('runway unknown (no credits used in the last 30 days)');
  });

  it('sv0 budget runway without a declared balance is bad input naming the file and fields', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sv0-runway-'));
    cpSync(CONFIG, dir, { recursive: true });
    const budgets = path.join(dir, 'budgets.yaml');
    writeFileSync(budgets, readFileSync(budgets, 'utf8').replace(/\ncredits:[\s\S]*$/, '\n'));
    const r = await sv0('budget', 'runway', '--config-dir', dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('budgets.yaml: credits: no starting balance declared');
  });
});
