import { mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSnsBudgetMessage } from '../../lib/budget-alert';
import {
  evaluateSpend,
  freshMonth,
  nextUtcMonthStart,
  utcMonth,
  type MonthState,
} from '../../lib/budget-escalation';
import { loadBudgetsConfig } from '../../lib/runtime/config';
import { ConfigError } from '../../lib/config/validate';

const REPO_CONFIG = path.resolve(__dirname, '../../config');

/** A config folder with the repo's org.yaml and the given budgets.yaml. */
function configDir(budgetsYaml?: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sv0-budgets-'));
  copyFileSync(path.join(REPO_CONFIG, 'org.yaml'), path.join(dir, 'org.yaml'));
  if (budgetsYaml === undefined)
    copyFileSync(path.join(REPO_CONFIG, 'budgets.yaml'), path.join(dir, 'budgets.yaml'));
  else writeFileSync(path.join(dir, 'budgets.yaml'), budgetsYaml);
  return dir;
}

function configError(dir: string): ConfigError {
  try {
    loadBudgetsConfig(dir);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('config/budgets.yaml', () => {
  it("holds the seed's four budgets; only sv0-demo freezes, at 100 %", () => {
    const { budgets } = loadBudgetsConfig(configDir());
    expect(budgets.map((b) => [b.name, b.account, b.amount, b.notify, b.freezeAt])).toEqual([
      ['total', 'organization', 500, [50, 80, 100], undefined],
      ['sv0-demo', 'sv0-demo', 200, [80], 100],
      ['sv0-platform', 'sv0-platform', 300, [80, 100], undefined],
      ['sv0-security-tooling', 'sv0-security-tooling', 50, [80, 100], undefined],
    ]);
    expect(budgets.every((b) => b.checkInterval === '1h' && b.subscribers.length > 0)).toBe(true);
  });

  it('refuses a freezable management account, naming file, field and reason', () => {
    const err = configError(
      configDir('budgets:\n  - { name: mgmt, account: management, amount: 10, freezeAt: 100 }\n'),
    );
    expect(err.message).toMatch(
      /budgets\.yaml: budgets\[0\]\.freezeAt: the management account is never frozen/,
    );
  });

  it('refuses an unknown account and a freezable non-sandbox account', () => {
    const err = configError(
      configDir(
        'budgets:\n  - { name: a, account: sv0-nope, amount: 10 }\n  - { name: b, account: sv0-platform, amount: 10, freezeAt: 100 }\n  - { name: c, account: organization, amount: 10, freezeAt: 90 }\n',
      ),
    );
    expect(err.problems.map((p) => p.path)).toEqual([
      'budgets[0].account',
      'budgets[1].freezeAt',
      'budgets[2].freezeAt',
    ]);
    expect(err.message).toMatch(/"sv0-nope" is not an account in org\.yaml/);
    expect(err.message).toMatch(/"sv0-platform" is not marked sandbox: true/);
  });

  it('refuses a bad interval and duplicate names', () => {
    const err = configError(
      configDir(
        'budgets:\n  - { name: a, account: sv0-demo, amount: 10, checkInterval: hourly }\n  - { name: a, account: sv0-demo, amount: 5 }\n',
      ),
    );
    expect(err.message).toMatch(/budgets\[0\]\.checkInterval: write a duration: a whole number and one unit/);
    expect(err.message).toMatch(/budgets\[1\]\.name: budget "a" is declared twice/);
  });
});

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

describe('SNS budget alerts', () => {
  const text = [
    'AWS Budget Notification November 28, 2026',
    'AWS Account 123456789012',
    '',
    'Budget Name: sv0-demo',
    'Budget Type: Cost',
    'Budgeted Amount: $200.00',
    'Alert Type: ACTUAL',
    'Alert Threshold: > $160.00',
    'ACTUAL Amount: $165.23',
  ].join('\n');

  it('finds the budget in an SNS notification and in the bare text', () => {
    const sns = JSON.stringify({
      Type: 'Notification',
      Subject: 'AWS Budgets: sv0-demo has exceeded your alert threshold',
      Message: text,
    });
    expect(parseSnsBudgetMessage(sns)).toMatchObject({
      kind: 'alert',
      budgetName: 'sv0-demo',
      alertType: 'ACTUAL',
    });
    expect(parseSnsBudgetMessage(text)).toMatchObject({ kind: 'alert', budgetName: 'sv0-demo' });
  });

  it("confirms subscriptions only at SNS's own URL and refuses messages without a budget", () => {
    const confirm = {
      Type: 'SubscriptionConfirmation',
      TopicArn: 'arn:aws:sns:us-east-1:123456789012:budgets',
      SubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=x',
    };
    expect(parseSnsBudgetMessage(JSON.stringify(confirm)).kind).toBe('subscription-confirmation');
    expect(() =>
      parseSnsBudgetMessage(JSON.stringify({ ...confirm, SubscribeURL: 'https://evil.example.com/' })),
    ).toThrow(/not SNS's/);
    expect(() => parseSnsBudgetMessage(JSON.stringify({ Type: 'Notification', Message: 'hello' }))).toThrow(
      /names no budget/,
    );
  });
});
