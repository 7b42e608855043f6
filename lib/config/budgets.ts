import { z } from 'zod';
import { ConfigError, durationSchema as durationText } from './validate';
import { MANAGEMENT_ACCOUNT, type OrgConfig } from './org';
import { GROSS_COST_TYPES, type BudgetCostTypes } from '../budget-cost-types';

/**
 * config/budgets.yaml: the monthly budgets and how each escalates. The org bootstrap
 * creates them in AWS Budgets with email notifications; one budget guard workflow per budget
 * reads their spend, notifies once per threshold per month, and freezes a sandbox account at
 * `freezeAt` percent.
 */

/** `account: organization` scopes a budget to the whole organization's consolidated spend. */
const ORGANIZATION_SCOPE = 'organization';
/** `account: management` is the management account's own spend: it may be budgeted, never frozen. */
const MANAGEMENT_SCOPE = MANAGEMENT_ACCOUNT;

const percent = z
  .number({ message: 'a percentage is a number' })
  .positive('a percentage is above 0')
  .max(1000, 'a percentage above 1000 is surely a typo');

const email = z.email('not a valid email address');

/** `forecastAction: block-demos`: a month-end forecast past 100 % refuses new demos in the account. */
export const BLOCK_DEMOS = 'block-demos';
export type ForecastAction = typeof BLOCK_DEMOS;

const costSwitch = z.boolean({ message: 'a cost type is true or false' });

/**
 * What counts as spend (AWS Budgets `CostTypes`, camelCase). Each switch left out takes the gross
 * default: everything AWS counts by default except credits, refunds and discounts.
 */
const CostTypesSchema = z.strictObject({
  includeTax: costSwitch.optional(),
  includeSubscription: costSwitch.optional(),
  useBlended: costSwitch.optional(),
  includeRefund: costSwitch.optional(),
  includeCredit: costSwitch.optional(),
  includeUpfront: costSwitch.optional(),
  includeRecurring: costSwitch.optional(),
  includeOtherSubscription: costSwitch.optional(),
  includeSupport: costSwitch.optional(),
  includeDiscount: costSwitch.optional(),
  useAmortized: costSwitch.optional(),
});
type CostTypesEntry = z.infer<typeof CostTypesSchema>;

/** Defaults for every budget; a budget may override each. */
const DefaultsSchema = z.strictObject({
  /** Email subscribers of the AWS budget notifications. */
  subscribers: z.array(email).min(1).default(['billing@example.com']),
  /** How often the guard reads spend when no budget alert arrives. @default 1h */
  checkInterval: durationText.default('1h'),
  /** After an approved unfreeze, freeze again if spend keeps rising past the approval's spend. @default true */
  refreezeAfterApproval: z.boolean().default(true),
  /** What counts as spend; every switch left out is gross spend's. @default gross spend */
  costTypes: CostTypesSchema.default({}),
});

const BudgetEntrySchema = z.strictObject({
  /** The AWS budget name; also the workflow id suffix (`budget-<name>`) and the CLI's NAME. */
  name: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/,
      'a budget name is letters, digits, dot, dash or underscore (at most 100)',
    ),
  /** An account name from org.yaml, `organization` (the whole org) or `management`. */
  account: z.string().min(1),
  /** Monthly limit in US dollars. */
  amount: z.number({ message: 'amount is a number of US dollars' }).positive('amount must be above 0'),
  currency: z.literal('USD', { message: 'only USD budgets are supported' }).default('USD'),
  /** Percentages of actual spend that notify, once each per month. */
  notify: z
    .array(percent)
    .default([])
    .refine((list) => new Set(list).size === list.length, { message: 'each percentage once' })
    .transform((list) => [...list].sort((a, b) => a - b)),
  /** Percentage of actual spend that freezes the account; only for accounts org.yaml marks `sandbox: true`. */
  freezeAt: percent.optional(),
  subscribers: z.array(email).min(1).optional(),
  checkInterval: durationText.optional(),
  refreezeAfterApproval: z.boolean().optional(),
  /** Switches that differ from `defaults.costTypes`. */
  costTypes: CostTypesSchema.optional(),
  /**
   * What a month-end forecast past 100 % does: `block-demos` refuses new demos in the budget's
   * account (only for accounts org.yaml marks `sandbox: true`). @default off
   */
  forecastAction: z
    .enum([BLOCK_DEMOS, 'off'], { message: `forecastAction is ${BLOCK_DEMOS} or off` })
    .default('off'),
});

/** A calendar date, as Cost Explorer periods are written (UTC). */
const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'write a date as YYYY-MM-DD')
  .refine(
    (d) =>
      !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d),
    {
      message: 'not a calendar date',
    },
  );

/**
 * Promotional credits: the balance on a date. `sv0 budget status` subtracts the credits Cost
 * Explorer shows used since then and gives the months of runway at the current burn.
 */
const CreditsSchema = z.strictObject({
  /** US dollars of credit on `since`. */
  startingBalance: z
    .number({ message: 'startingBalance is a number of US dollars' })
    .positive('startingBalance must be above 0'),
  /** The day (UTC) the balance was that; credits used are counted from it. */
  since: isoDate,
});
export type CreditsConfig = z.infer<typeof CreditsSchema>;

export const BudgetsFileSchema = z
  .strictObject({
    defaults: DefaultsSchema.default({
      subscribers: ['billing@example.com'],
      checkInterval: '1h',
      refreezeAfterApproval: true,
      costTypes: {},
    }),
    budgets: z.array(BudgetEntrySchema).min(1, 'declare at least one budget'),
    credits: CreditsSchema.optional(),
  })
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.budgets.forEach((b, i) => {
      if (seen.has(b.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['budgets', i, 'name'],
          message: `budget "${b.name}" is declared twice`,
        });
      }
      seen.add(b.name);
      const types = costTypesOf(file.defaults.costTypes, b.costTypes);
      if (types.useBlended && types.useAmortized) {
        ctx.addIssue({
          code: 'custom',
          path: ['budgets', i, 'costTypes'],
          message: 'useBlended and useAmortized cannot both be true (AWS counts one rate); set one to false',
        });
      }
    });
  });

/** A budget's cost types: gross spend, then the file's defaults, then the budget's own switches. */
function costTypesOf(defaults: CostTypesEntry, own: CostTypesEntry | undefined): BudgetCostTypes {
  const defined = (e: CostTypesEntry | undefined) =>
    Object.fromEntries(Object.entries(e ?? {}).filter(([, v]) => v !== undefined));
  return { ...GROSS_COST_TYPES, ...defined(defaults), ...defined(own) };
}
export type BudgetsFile = z.infer<typeof BudgetsFileSchema>;

/** One budget with every default applied and its account checked against org.yaml. */
export interface BudgetConfig {
  name: string;
  /** Account name from org.yaml, or {@link ORGANIZATION_SCOPE} / {@link MANAGEMENT_SCOPE}. */
  account: string;
  amount: number;
  currency: 'USD';
  /** Ascending. */
  notify: number[];
  /** Set only on budgets of sandbox accounts (validated). */
  freezeAt?: number;
  subscribers: string[];
  /** Strict duration text, e.g. `1h`. */
  checkInterval: string;
  refreezeAfterApproval: boolean;
  /** What AWS Budgets counts as spend; gross spend unless budgets.yaml says otherwise. */
  costTypes: BudgetCostTypes;
  /** Set only when a forecast past 100 % refuses new demos in the account (sandbox accounts, validated). */
  forecastAction?: ForecastAction;
}

export interface BudgetsConfig {
  budgets: BudgetConfig[];
  /** Promotional credits, when budgets.yaml declares a starting balance. */
  credits?: CreditsConfig;
}

export const BUDGETS_FILE = 'budgets.yaml';

/**
 * Check each budget's account against org.yaml and apply the defaults. Refuses (naming the file,
 * the field and the reason) an unknown account and a `freezeAt` on anything but a sandbox account:
 * the organization, the management account and non-sandbox accounts are never frozen.
 */
export function resolveBudgets(file: BudgetsFile, org: OrgConfig, fileName = BUDGETS_FILE): BudgetsConfig {
  const problems: { path: string; reason: string }[] = [];
  const accounts = new Map(org.accounts.map((a) => [a.name, a]));
  file.budgets.forEach((b, i) => {
    const at = `budgets[${i}]`;
    const scope = b.account === ORGANIZATION_SCOPE || b.account === MANAGEMENT_SCOPE;
    const account = accounts.get(b.account);
    if (!scope && !account) {
      problems.push({
        path: `${at}.account`,
        reason: `"${b.account}" is not an account in org.yaml; name one of ${[...accounts.keys(), ORGANIZATION_SCOPE, MANAGEMENT_SCOPE].join(', ')}`,
      });
      return;
    }
    if (b.forecastAction === BLOCK_DEMOS) {
      const reason =
        b.account === ORGANIZATION_SCOPE
          ? 'demos start in one account, not the whole organization; set it on the budget of the sandbox account'
          : b.account === MANAGEMENT_SCOPE
            ? 'no demo runs in the management account; set it on the budget of a sandbox account'
            : account?.sandbox
              ? undefined
              : `account "${b.account}" is not marked sandbox: true in org.yaml, so no demo runs there; remove forecastAction`;
      if (reason) problems.push({ path: `${at}.forecastAction`, reason });
    }
    if (b.freezeAt === undefined) return;
    if (b.account === ORGANIZATION_SCOPE) {
      problems.push({
        path: `${at}.freezeAt`,
        reason: 'the whole organization is never frozen; remove freezeAt',
      });
    } else if (b.account === MANAGEMENT_SCOPE) {
      problems.push({
        path: `${at}.freezeAt`,
        reason: 'the management account is never frozen; remove freezeAt',
      });
    } else if (!account?.sandbox) {
      problems.push({
        path: `${at}.freezeAt`,
        reason: `account "${b.account}" is not marked sandbox: true in org.yaml, so it is never frozen; remove freezeAt`,
      });
    }
  });
  if (problems.length > 0) throw new ConfigError(fileName, problems);
  return {
    budgets: file.budgets.map((b) => ({
      name: b.name,
      account: b.account,
      amount: b.amount,
      currency: b.currency,
      notify: b.notify,
      ...(b.freezeAt !== undefined ? { freezeAt: b.freezeAt } : {}),
      subscribers: b.subscribers ?? file.defaults.subscribers,
      checkInterval: b.checkInterval ?? file.defaults.checkInterval,
      refreezeAfterApproval: b.refreezeAfterApproval ?? file.defaults.refreezeAfterApproval,
      costTypes: costTypesOf(file.defaults.costTypes, b.costTypes),
      ...(b.forecastAction === BLOCK_DEMOS ? { forecastAction: BLOCK_DEMOS } : {}),
    })),
    ...(file.credits ? { credits: file.credits } : {}),
  };
}
