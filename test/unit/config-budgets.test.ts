import { describe, expect, it } from 'vitest';
import { loadBudgetsConfig } from '../../lib/runtime/config';
import { ConfigError } from '../../lib/config/validate';
import { budgetsConfigDir } from '../harness/budget-fixtures';

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
  it('holds the four budgets; only sv0-demo freezes, at 100 %', () => {
    const { budgets } = loadBudgetsConfig(budgetsConfigDir());
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
      budgetsConfigDir('budgets:\n  - { name: mgmt, account: management, amount: 10, freezeAt: 100 }\n'),
    );
    expect(err.message).toMatch(
      /budgets\.yaml: budgets\[0\]\.freezeAt: the management account is never frozen/,
    );
  });

  it('refuses an unknown account and a freezable non-sandbox account', () => {
    const err = configError(
      budgetsConfigDir(
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
      budgetsConfigDir(
        'budgets:\n  - { name: a, account: sv0-demo, amount: 10, checkInterval: hourly }\n  - { name: a, account: sv0-demo, amount: 5 }\n',
      ),
    );
    expect(err.message).toMatch(/budgets\[0\]\.checkInterval: write a duration: a whole number and one unit/);
    expect(err.message).toMatch(/budgets\[1\]\.name: budget "a" is declared twice/);
  });

  it('counts gross spend by default; defaults and a budget may each change a cost type', () => {
    const { budgets } = loadBudgetsConfig(
      budgetsConfigDir(
        'defaults:\n  costTypes: { includeTax: false }\nbudgets:\n  - { name: a, account: sv0-demo, amount: 10 }\n  - { name: b, account: organization, amount: 10, costTypes: { includeCredit: true } }\n',
      ),
    );
    expect(
      budgets.map((b) => [
        b.costTypes.includeCredit,
        b.costTypes.includeRefund,
        b.costTypes.includeDiscount,
        b.costTypes.includeTax,
      ]),
    ).toEqual([
      [false, false, false, false],
      [true, false, false, false],
    ]);
    const repo = loadBudgetsConfig(budgetsConfigDir()).budgets;
    expect(
      repo.every(
        (b) => !b.costTypes.includeCredit && !b.costTypes.includeRefund && !b.costTypes.includeDiscount,
      ),
    ).toBe(true);
  });

  it('refuses an unknown or non-boolean cost type, naming file, field and reason', () => {
    const err = configError(
      budgetsConfigDir(
        'budgets:\n  - { name: a, account: sv0-demo, amount: 10, costTypes: { includeCredits: false } }\n  - { name: b, account: sv0-demo, amount: 10, costTypes: { includeCredit: "no" } }\n',
      ),
    );
    expect(err.message).toMatch(/budgets\.yaml/);
    expect(err.problems.map((p) => p.path)).toEqual([
      'budgets[0].costTypes',
      'budgets[1].costTypes.includeCredit',
    ]);
    expect(err.message).toMatch(/includeCredits/);
    expect(err.message).toMatch(/a cost type is true or false/);
  });

  it('refuses blended and amortized rates at once', () => {
    const err = configError(
      budgetsConfigDir(
        'defaults:\n  costTypes: { useAmortized: true }\nbudgets:\n  - { name: a, account: sv0-demo, amount: 10, costTypes: { useBlended: true } }\n',
      ),
    );
    expect(err.message).toMatch(
      /budgets\.yaml: budgets\[0\]\.costTypes: useBlended and useAmortized cannot both be true/,
    );
  });

  it('declares a starting balance of credits with its date, and refuses a date that is not one', () => {
    expect(loadBudgetsConfig(budgetsConfigDir()).credits).toEqual({
      startingBalance: 5000,
      since: '2026-11-01',
    });
    const base = 'budgets:\n  - { name: total, account: organization, amount: 500 }\n';
    expect(loadBudgetsConfig(budgetsConfigDir(base)).credits).toBeUndefined();
    const bad = configError(
      budgetsConfigDir(`${base}credits:\n  startingBalance: -1\n  since: 2026-02-30\n`),
    );
    expect(bad.message).toContain('budgets.yaml: credits.startingBalance: startingBalance must be above 0');
    expect(bad.message).toContain('budgets.yaml: credits.since: not a calendar date');
  });
  it("forecastAction is off unless a sandbox account's budget says block-demos", () => {
    expect(loadBudgetsConfig(budgetsConfigDir()).budgets.every((b) => b.forecastAction === undefined)).toBe(
      true,
    );
    const { budgets } = loadBudgetsConfig(
      budgetsConfigDir(
        'budgets:\n  - { name: a, account: sv0-demo, amount: 10, forecastAction: block-demos }\n  - { name: b, account: sv0-demo, amount: 10, forecastAction: "off" }\n',
      ),
    );
    expect(budgets.map((b) => b.forecastAction)).toEqual(['block-demos', undefined]);
  });

  it('refuses a forecastAction that is not one, or on a budget no demo runs under, naming file, field and reason', () => {
    const err = configError(
      budgetsConfigDir('budgets:\n  - { name: a, account: sv0-demo, amount: 10, forecastAction: freeze }\n'),
    );
    expect(err.message).toContain(
      'budgets.yaml: budgets[0].forecastAction: forecastAction is block-demos or off',
    );
    const second = configError(
      budgetsConfigDir(
        'budgets:\n  - { name: b, account: organization, amount: 10, forecastAction: block-demos }\n  - { name: c, account: management, amount: 10, forecastAction: block-demos }\n  - { name: d, account: sv0-platform, amount: 10, forecastAction: block-demos }\n',
      ),
    );
    expect(second.problems.map((p) => p.path)).toEqual([
      'budgets[0].forecastAction',
      'budgets[1].forecastAction',
      'budgets[2].forecastAction',
    ]);
    expect(second.message).toContain(
      'budgets[0].forecastAction: demos start in one account, not the whole organization',
    );
    expect(second.message).toContain('budgets[1].forecastAction: no demo runs in the management account');
    expect(second.message).toContain(
      'budgets[2].forecastAction: account "sv0-platform" is not marked sandbox: true in org.yaml, so no demo runs there; remove forecastAction',
    );
  });
});
