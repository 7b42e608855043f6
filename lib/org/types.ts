/**
 * The org bootstrap's data: the desired organization (from config/org.yaml and budgets.yaml), the
 * live organization (read by activities) and the plan between them. Plain JSON, so all three travel
 * through workflow history; none holds a secret.
 */

import type { BudgetCostTypes } from '../budget-cost-types';

/** Where an SCP is attached: `root`, `ou:<name>` or `account:<name>`. */
export type TargetRef = string;
export const targetRef = {
  root: 'root' as TargetRef,
  ou: (name: string): TargetRef => `ou:${name}`,
  account: (name: string): TargetRef => `account:${name}`,
};

export interface DesiredAccount {
  name: string;
  email: string;
  ou: string;
  sandbox: boolean;
  tags: Record<string, string>;
}

export interface DesiredPolicy {
  name: string;
  description: string;
  /** Minified JSON, as AWS receives it. */
  content: string;
  targets: TargetRef[];
}

export interface DesiredRole {
  name: string;
  /** Account name where the role lives. */
  account: string;
  /** Account name allowed to assume it, or `management`. */
  trustedAccount: string;
  externalId: string;
  description: string;
  managedPolicies: string[];
}

export interface DesiredBudget {
  name: string;
  /** `organization`, `management` or an account name. */
  scope: string;
  amount: number;
  /** Ascending percentages. */
  notify: number[];
  subscribers: string[];
  /**
   * What AWS Budgets counts as spend (gross spend unless budgets.yaml says otherwise). Absent only
   * in inputs recorded before budgets declared it: such a plan leaves cost types as they are.
   */
  costTypes?: BudgetCostTypes;
  /** Percentage of spend at which the budget guard freezes the account (sandbox accounts only). */
  freezeAt?: number;
}

export interface DesiredTagPolicy {
  name: string;
  description: string;
  /** Minified JSON, as AWS receives it. */
  content: string;
  targets: TargetRef[];
}

export interface DesiredUser {
  userName: string;
  displayName: string;
  givenName: string;
  familyName: string;
  email: string;
}

export interface DesiredPermissionSet {
  name: string;
  description: string;
  sessionDuration: string;
  managedPolicies: string[];
}

export interface DesiredAssignment {
  user: string;
  permissionSet: string;
  /** Account name or `management`. */
  account: string;
}

export interface DesiredOrg {
  organizationalUnits: string[];
  accounts: DesiredAccount[];
  policies: DesiredPolicy[];
  roles: DesiredRole[];
  budgets: DesiredBudget[];
  identityCenter?: {
    users: DesiredUser[];
    permissionSets: DesiredPermissionSet[];
    assignments: DesiredAssignment[];
  };
  cost: {
    allocationTags: string[];
    /** `alertAboveUsd`: an anomaly's total impact that publishes to the alerts topic (absent in older inputs). */
    anomalyMonitor?: { name: string; alertAboveUsd?: number };
  };
  /**
   * The Organizations tag policy with the sv0:* tags' allowed values. Absent when org.yaml declares
   * none, and in inputs recorded before it existed: such a plan leaves tag policies alone.
   */
  tagPolicy?: DesiredTagPolicy;
  /**
   * The AWS-side backstop of the budget freeze: the SNS topic budget notifications go to, and the
   * role AWS Budgets assumes for the freeze action of each budget with `freezeAt`. Absent in inputs
   * recorded before it existed: such a plan leaves all of it alone.
   */
  budgetAlerts?: { topic: string; freezeRole: string };
  /**
   * The role the worker assumes to mint connectors' temporary AWS keys. Absent when org.yaml
   * declares none, and in inputs recorded before it existed.
   */
  connectorCredentials?: DesiredConnectorCredentials;
}

/** The connector credentials role as declared: where, its external id, and the roles it may assume. */
export interface DesiredConnectorCredentials {
  account: string;
  role: string;
  externalId: string;
  /** The crossAccountRoles that trust `account`, per account they live in. */
  assumes: { account: string; role: string }[];
}

/** The connector credentials role as it is (its documents as JSON text, URL-decoded). */
export interface LiveConnectorCredentials {
  exists: boolean;
  trustPolicy?: string;
  policy?: string;
  /** Not read: its account is frozen (FreezeAccount denies the access role the read goes through). */
  frozen?: boolean;
}

export interface LiveAccount {
  id: string;
  name: string;
  email: string;
  status: string;
  /** `root`, `ou:<name>`, or `ou-id:<id>` for an OU this tool does not know (nested or undeclared). */
  parent: TargetRef;
  tags: Record<string, string>;
}

export interface LivePolicy {
  id: string;
  name: string;
  description: string;
  content: string;
  awsManaged: boolean;
}

export interface LiveRole {
  account: string;
  name: string;
  exists: boolean;
  /** Principal ARN of the trust policy's AWS principal (first one). */
  trustedPrincipal?: string;
  externalId?: string;
  managedPolicies: string[];
  /**
   * Not read: the account is frozen (FreezeAccount attached), which denies the access role the
   * read goes through. Absent in results recorded before frozen accounts were skipped.
   */
  frozen?: boolean;
}

export interface LiveBudget {
  name: string;
  amount: number;
  linkedAccountIds: string[];
  /** Thresholds (percent, ACTUAL) that have a notification. */
  notify: number[];
  /** What the budget counts as spend; undefined only in results recorded before it was read. */
  costTypes?: BudgetCostTypes;
  /** This month's spend as the budget counts it (AWS Budgets' calculated actual spend). */
  actualSpend?: number;
  /**
   * This month's gross spend (before credits, refunds and discounts) of the budget's one linked
   * account, from Cost Explorer; read only when the budget counts net spend.
   */
  grossSpend?: { amount: number } | { unreadable: string };
}

/** An AWS Budgets action, as DescribeBudgetActionsForAccount answers it. */
export interface LiveBudgetAction {
  budget: string;
  actionId: string;
  actionType: string;
  notificationType: string;
  threshold: number;
  thresholdType: string;
  approvalModel: string;
  /** AWS's status: STANDBY, PENDING, EXECUTION_IN_PROGRESS, EXECUTION_SUCCESS, REVERSE_SUCCESS, ... */
  status: string;
  /** APPLY_SCP_POLICY actions: the SCP and the targets it is attached to. */
  policyId?: string;
  targetIds: string[];
  executionRoleArn: string;
  /** Addresses of the action's subscribers (SNS topic ARNs and emails). */
  subscribers: string[];
}

/** The AWS side of the budget freeze as it is: topic, role, subscriptions, actions. */
export interface LiveBackstop {
  topic: { arn: string; exists: boolean; policy?: string };
  freezeRole: { exists: boolean; trustPolicy?: string; policy?: string };
  /**
   * Per budget name: the thresholds whose notification has the topic as a subscriber; undefined
   * where the API is unavailable (moto).
   */
  subscribed?: Record<string, number[]>;
  /** Every Budgets action of the management account; undefined where the API is unavailable (moto). */
  actions?: LiveBudgetAction[];
  /** Anomaly subscriptions with their SNS subscribers; undefined where the API is unavailable. */
  anomalySubscriptions?: { name: string; monitorArns: string[]; sns: string[] }[];
}

export interface LiveIdentityCenter {
  instanceArn: string;
  identityStoreId: string;
  users: { userName: string; id: string }[];
  permissionSets: (DesiredPermissionSet & { arn: string })[];
  /** Account ids, not names. */
  assignments: { user: string; permissionSet: string; accountId: string }[];
}

export interface LiveOrg {
  managementAccountId: string;
  /** Undefined when the caller's account is in no organization yet. */
  organization?: { id: string; featureSet: string };
  rootId?: string;
  scpEnabled: boolean;
  ous: { id: string; name: string }[];
  accounts: LiveAccount[];
  policies: LivePolicy[];
  attachments: { policy: string; target: TargetRef }[];
  roles: LiveRole[];
  budgets: LiveBudget[];
  /** Undefined when there is no Identity Center instance (a note says so). */
  identityCenter?: LiveIdentityCenter;
  cost: {
    /** Tag keys AWS knows from billing data, with Active/Inactive; undefined when the API is unavailable. */
    allocationTags?: { key: string; status: string }[];
    /** Names of existing anomaly monitors; undefined when the API is unavailable. */
    anomalyMonitors?: string[];
  };
  /** Undefined when it was not read (results recorded before the backstop existed). */
  backstop?: LiveBackstop;
  /** Undefined when it was not read (none declared, or results recorded before it existed). */
  connectorCredentials?: LiveConnectorCredentials;
  /**
   * Tag policies (TAG_POLICY): whether the type is enabled on the root, the customer policies and
   * where they are attached. Undefined when not read (no tag policy declared, or older results).
   */
  tagPolicies?: {
    enabled: boolean;
    policies: LivePolicy[];
    attachments: { policy: string; target: TargetRef }[];
  };
  /** Facts the operator should know (no Identity Center instance, an API unavailable, ...). */
  notes: string[];
}

/** An SCP's name, description and document, as a create or update step carries them. */
export interface PolicyContent {
  policy: string;
  description: string;
  content: string;
  /**
   * FreezeAccount only, when a sandbox account is created by the same apply: the sandbox accounts
   * whose ids the step writes in place of the exemption template once they exist.
   */
  exemptAccounts?: string[];
}

/** One change, as data. Every step is idempotent: applying it twice leaves the same state. */
export type StepAction =
  | { kind: 'createOrganization' }
  | { kind: 'enableScpType' }
  | { kind: 'createOu'; ou: string }
  | { kind: 'createAccount'; account: string; email: string; tags: Record<string, string> }
  | { kind: 'moveAccount'; account: string; email: string; to: string }
  | { kind: 'tagAccount'; account: string; email: string; tags: Record<string, string> }
  | ({ kind: 'createPolicy' } & PolicyContent)
  | ({ kind: 'updatePolicy' } & PolicyContent)
  | { kind: 'attachPolicy'; policy: string; target: TargetRef }
  | { kind: 'detachPolicy'; policy: string; target: TargetRef }
  | { kind: 'enableTagPolicyType' }
  | { kind: 'createTagPolicy'; policy: string; description: string; content: string }
  | { kind: 'updateTagPolicy'; policy: string; description: string; content: string }
  | { kind: 'attachTagPolicy'; policy: string; target: TargetRef }
  | { kind: 'detachTagPolicy'; policy: string; target: TargetRef }
  | { kind: 'ensureRole'; role: DesiredRole; create: boolean }
  | { kind: 'createBudget'; budget: DesiredBudget; alertsTopic?: string }
  | { kind: 'updateBudget'; budget: DesiredBudget }
  | {
      kind: 'createBudgetNotification';
      budget: string;
      threshold: number;
      subscribers: string[];
      alertsTopic?: string;
    }
  | { kind: 'ensureAlertsTopic'; topic: string }
  | { kind: 'ensureFreezeRole'; role: string; sandboxAccounts: string[]; create: boolean }
  | { kind: 'ensureConnectorCredentialsRole'; role: DesiredConnectorCredentials; create: boolean }
  | { kind: 'subscribeBudgetAlerts'; budget: string; thresholds: number[]; topic: string }
  | {
      kind: 'ensureFreezeAction';
      budget: string;
      /** The sandbox account FreezeAccount is attached to. */
      account: string;
      freezeAt: number;
      role: string;
      topic: string;
      /** Email subscribers of the action (the topic is always one). */
      subscribers: string[];
      /** The live action to update; absent: create one. */
      actionId?: string;
      /** Every account org.yaml marks sandbox, for the activity's sandbox check. */
      sandboxAccounts: string[];
    }
  | { kind: 'ensureAnomalySubscription'; name: string; monitor: string; topic: string; alertAboveUsd: number }
  | { kind: 'createUser'; user: DesiredUser }
  | { kind: 'ensurePermissionSet'; permissionSet: DesiredPermissionSet; create: boolean }
  | { kind: 'createAssignment'; assignment: DesiredAssignment }
  | { kind: 'activateCostAllocationTags'; tags: string[] }
  | { kind: 'createAnomalyMonitor'; name: string };

export type StepKind = StepAction['kind'];

/**
 * A planned step: its action plus a stable id (`createOu:Sandbox`), the wave it runs in (steps of
 * one wave are independent and run in parallel; a wave starts when the one before it is done)
 * and a line for people.
 */
export type PlanStep = StepAction & { id: string; wave: number; summary: string };

export interface OrgPlan {
  managementAccountId: string;
  steps: PlanStep[];
  /** What exists but is not declared: reported, never deleted. */
  undeclared: { kind: string; name: string; detail?: string }[];
  /** FreezeAccount attachments: owned by the budget guard, left alone, not drift. */
  frozen: TargetRef[];
  notes: string[];
  /** What applying the plan would set off at once (a budget that freezes its account), for the operator to see before apply. */
  warnings: string[];
}
