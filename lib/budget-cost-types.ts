/**
 * What a budget counts as spend: the `CostTypes` of an AWS budget, spelled in budgets.yaml's
 * camelCase. AWS counts credits, refunds and discounts by default, so an account that lives on
 * credits shows a net spend near $0 and no threshold or freeze ever fires; every budget this tool
 * creates therefore says its cost types explicitly, and by default excludes those three (gross
 * spend).
 */

/** The eleven switches of an AWS budget's `CostTypes`, camelCase. */
export interface BudgetCostTypes {
  includeTax: boolean;
  includeSubscription: boolean;
  useBlended: boolean;
  includeRefund: boolean;
  includeCredit: boolean;
  includeUpfront: boolean;
  includeRecurring: boolean;
  includeOtherSubscription: boolean;
  includeSupport: boolean;
  includeDiscount: boolean;
  useAmortized: boolean;
}

/** AWS's own defaults: what a budget created without `CostTypes` counts (credits included). */
export const AWS_DEFAULT_COST_TYPES: BudgetCostTypes = {
  includeTax: true,
  includeSubscription: true,
  useBlended: false,
  includeRefund: true,
  includeCredit: true,
  includeUpfront: true,
  includeRecurring: true,
  includeOtherSubscription: true,
  includeSupport: true,
  includeDiscount: true,
  useAmortized: false,
};

/** This tool's default: gross spend, i.e. AWS's defaults without credits, refunds and discounts. */
export const GROSS_COST_TYPES: BudgetCostTypes = {
  ...AWS_DEFAULT_COST_TYPES,
  includeRefund: false,
  includeCredit: false,
  includeDiscount: false,
};

const KEYS = Object.keys(AWS_DEFAULT_COST_TYPES) as (keyof BudgetCostTypes)[];

/** The AWS SDK's spelling of a key: `includeCredit` -> `IncludeCredit`. */
function awsKey(key: keyof BudgetCostTypes): string {
  return key[0]!.toUpperCase() + key.slice(1);
}

/** Cost types as the AWS Budgets API takes them. */
export function toAwsCostTypes(types: BudgetCostTypes): Record<string, boolean> {
  return Object.fromEntries(KEYS.map((k) => [awsKey(k), types[k]]));
}

/** Cost types as AWS returns them; a switch AWS leaves out has AWS's default. */
export function fromAwsCostTypes(aws: Record<string, boolean | undefined> | undefined): BudgetCostTypes {
  return Object.fromEntries(
    KEYS.map((k) => [k, aws?.[awsKey(k)] ?? AWS_DEFAULT_COST_TYPES[k]]),
  ) as unknown as BudgetCostTypes;
}

/** The switches that differ, as `includeCredit true -> false`; empty when the two are the same. */
export function costTypeChanges(live: BudgetCostTypes, desired: BudgetCostTypes): string[] {
  return KEYS.filter((k) => live[k] !== desired[k]).map((k) => `${k} ${live[k]} -> ${desired[k]}`);
}

/** True when the cost types count credits, refunds or discounts (net spend, lower than gross). */
export function countsNetSpend(types: BudgetCostTypes): boolean {
  return types.includeCredit || types.includeRefund || types.includeDiscount;
}
