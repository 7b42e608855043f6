import { describe, expect, it } from 'vitest';
import {
  evaluateSpend,
  freshMonth,
  nextUtcMonthStart,
  utcMonth,
  type MonthState,
} from '../../lib/budget-escalation';

describe('escalation rules', () => {
  const demo = { amount: 200, notify: [80], freezeAt: 100, refreezeAfterApproval: true };
  const total = { amount: 500, notify: [50, 80, 100], refreezeAfterApproval: true };
  const month = (over: Partial<MonthState> = {}): MonthState => ({ ...freshMonth('2026-11'), ...over });

  it('notifies each threshold once per month', () => {
    expect(evaluateSpend(total, month(), { actual: 200 }).newlyCrossed).toEqual([]);
    expect(evaluateSpend(total, month(), { actual: 275 }).newlyCrossed).toEqual([50]);
    expect(evaluateSpend(total, month({ notified: [50] }), { actual: 275 }).newlyCrossed).toEqual([]);
    expect(evaluateSpend(total, month({ notified: [50] }), { actual: 505 }).newlyCrossed).toEqual([80, 100]);
  });

  it('warns on a forecast over 100 % only while actual spend is below it', () => {
    expect(evaluateSpend(total, month(), { actual: 300, forecast: 520 }).forecastWarning).toBe(true);
    expect(
      evaluateSpend(total, month({ forecastWarned: true }), { actual: 300, forecast: 520 }).forecastWarning,
    ).toBe(false);
    expect(evaluateSpend(total, month(), { actual: 510, forecast: 520 }).forecastWarning).toBe(false);
  });

  it('freezes at freezeAt, not again while frozen, and after an approval only if spend rises (when configured)', () => {
    expect(evaluateSpend(demo, month(), { actual: 199 }).freeze).toBe(false);
    expect(evaluateSpend(demo, month(), { actual: 202 }).freeze).toBe(true);
    expect(evaluateSpend(total, month(), { actual: 900 }).freeze).toBe(false);
    expect(evaluateSpend(demo, month({ frozen: true }), { actual: 250 }).freeze).toBe(false);
    const approval = { by: 'ivan', reason: 'demo day', at: '2026-11-20T00:00:00.000Z', spendAtApproval: 202 };
    expect(evaluateSpend(demo, month({ approval }), { actual: 202 }).freeze).toBe(false);
    expect(evaluateSpend(demo, month({ approval }), { actual: 215 }).freeze).toBe(true);
    expect(
      evaluateSpend({ ...demo, refreezeAfterApproval: false }, month({ approval }), { actual: 300 }).freeze,
    ).toBe(false);
  });

  it('counts months in UTC', () => {
    const lateOn30th = Date.parse('2026-11-30T23:59:59.000Z');
    expect(utcMonth(lateOn30th)).toBe('2026-11');
    expect(new Date(nextUtcMonthStart(lateOn30th)).toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(new Date(nextUtcMonthStart(Date.parse('2026-12-15T00:00:00Z'))).toISOString()).toBe(
      '2027-01-01T00:00:00.000Z',
    );
  });
});
