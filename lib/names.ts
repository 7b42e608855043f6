/**
 * The names that clients, workers, workflows, tests and operators rely on. One place, so a rename is one change.
 */

/** Task queues: AWS work and container runs are kept apart so a runaway connector cannot starve AWS work. */
export const TaskQueues = {
  infra: 'sv0-infra',
  connectors: 'sv0-connectors',
} as const;

/**
 * Workflow types: the exported function names in workflows/, which the server records and clients,
 * schedules and visibility queries name. Renaming one breaks every run and schedule that uses it.
 */
export const WorkflowTypes = {
  smoke: 'smokeWorkflow',
  orgBootstrap: 'orgBootstrapWorkflow',
  orgDrift: 'orgDriftWorkflow',
  connectorSync: 'connectorSyncWorkflow',
  connectorHealth: 'connectorHealthWorkflow',
  connectorAfter: 'connectorAfterWorkflow',
  demoLifecycle: 'demoLifecycleWorkflow',
  demoSweep: 'demoSweepWorkflow',
  budgetGuard: 'budgetGuardWorkflow',
} as const;

/** Workflow ids. Fixed ids make starts idempotent and stop two runs of the same thing at once. */
export const WorkflowIds = {
  orgBootstrap: (managementAccountId: string) => `org-bootstrap-${managementAccountId}`,
  demo: (id: string) => `demo-${id}`,
  budget: (name: string) => `budget-${name}`,
  connectorHealth: 'connector-health',
  /**
   * The workflow that runs a connector after the connectors it waits on. The dot cannot occur in
   * a connector name, so the id never equals a schedule's or a sync run's.
   */
  connectorAfter: (name: string) => `connector-after.${name}`,
  /** A run that `connector-after.<name>` starts, named like a scheduled run (name and time). */
  connectorRun: (name: string, at: Date) => `connector-${name}-${at.toISOString()}`,
} as const;

/** Schedule ids. `sv0 connectors apply` touches only ids with the connector prefix. */
export const ScheduleIds = {
  connectorPrefix: 'connector-',
  connector: (name: string) => `connector-${name}`,
  orgDrift: 'org-drift',
  demoSweep: 'demo-sweep',
} as const;

/** A demo id as operators type it: short, lower case, safe in a workflow id, a stack name and a tag. */
export const DEMO_ID_PATTERN = /^[a-z0-9-]{1,40}$/;

/** Search attributes, registered on the server by the dev stack, the compose stack, the tests and the worker. */
export const SearchAttributes = {
  connector: 'Sv0Connector',
  syncStatus: 'Sv0SyncStatus',
  demoScenario: 'Sv0DemoScenario',
  owner: 'Sv0Owner',
  phase: 'Sv0Phase',
  budget: 'Sv0Budget',
  expiresAt: 'Sv0ExpiresAt',
} as const;

/** Every search attribute with its server-side type, for registration. */
export const SEARCH_ATTRIBUTE_TYPES: Record<
  (typeof SearchAttributes)[keyof typeof SearchAttributes],
  'Keyword' | 'Datetime'
> = {
  Sv0Connector: 'Keyword',
  Sv0SyncStatus: 'Keyword',
  Sv0DemoScenario: 'Keyword',
  Sv0Owner: 'Keyword',
  Sv0Phase: 'Keyword',
  Sv0Budget: 'Keyword',
  Sv0ExpiresAt: 'Datetime',
};

/** Labels on every connector container, so the reaper and operators can find what we started. */
export const ContainerLabels = {
  connector: 'sv0.connector',
  workflowId: 'sv0.workflow-id',
  attempt: 'sv0.attempt',
  deadline: 'sv0.deadline',
} as const;

/** Tags on every resource a demo creates; the sweep acts only on resources tagged ephemeral. */
export const Tags = {
  ephemeral: 'sv0:ephemeral',
  ttl: 'sv0:ttl',
  demo: 'sv0:demo',
  owner: 'sv0:owner',
  environment: 'sv0:environment',
  project: 'sv0:project',
  /**
   * When the sweep first saw an ephemeral resource AWS gives no creation time for (an SNS topic):
   * the sweep ages it from there. Kept in AWS, since the sweep workflow lives minutes.
   */
  firstSeen: 'sv0:first-seen',
} as const;

/** Role names the orchestrator creates and assumes. FreezeAccount exempts the deploy role by exact ARN. */
export const Roles = {
  organizationAccess: 'OrganizationAccountAccessRole',
  deploy: 'sv0-orchestrator-deploy',
  securityReadOnly: 'SecurityV0-ReadOnly',
  /**
   * In sv0-platform: the role the worker assumes (trusted by the management account) to assume
   * SecurityV0-ReadOnly in turn, minting a connector's temporary credentials.
   */
  connectorCredentials: 'sv0-connector-credentials',
  /** In the management account: the role AWS Budgets assumes to attach and detach FreezeAccount. */
  budgetsFreeze: 'sv0-budgets-freeze',
} as const;

/** The SCP that the budget guard owns; the org planner reports its attachments and never changes them. */
export const FREEZE_POLICY_NAME = 'FreezeAccount';

/**
 * The SNS topic (management account, us-east-1) that budget notifications, the freeze actions and
 * the Cost Anomaly Detection subscription publish to; `sv0 budget alerts-endpoint` subscribes to it.
 */
export const BUDGET_ALERTS_TOPIC = 'sv0-budget-alerts';

/**
 * Failure types, one table. A type listed in {@link NON_RETRYABLE_ERROR_TYPES} is permanent: retrying
 * cannot fix it, so activities throw it as non-retryable and workflows report it.
 */
export const ErrorType = {
  /** Configuration or input that fails validation. */
  BadConfig: 'Sv0BadConfig',
  /**
   * An activity's input that its schema or the worker's settings (config/worker.yaml) refuse: a
   * forged or widened input, refused before any secret is resolved or anything is changed.
   */
  InputRefused: 'Sv0InputRefused',
  /**
   * A sandbox check refused a destructive action (management account, not sandbox, untagged
   * resource, ...). The value keeps its first name: histories and callers match on it.
   */
  SandboxRefused: 'Sv0GuardRefused',
  /** AWS said the caller may not do this; retrying will not change it. */
  AccessDenied: 'Sv0AccessDenied',
  /** CreateAccount ended FAILED (EMAIL_ALREADY_EXISTS, ACCOUNT_LIMIT_EXCEEDED, ...). */
  AccountCreationFailed: 'Sv0AccountCreationFailed',
  /** The live state no longer gives the plan the operator approved. */
  PlanChanged: 'Sv0PlanChanged',
  /** A secret reference could not be resolved, or a secret file was refused. */
  SecretUnavailable: 'Sv0SecretUnavailable',
  /** A container image is missing and cannot be pulled. */
  ImageUnavailable: 'Sv0ImageUnavailable',
  /** A connector container exited non-zero (retryable up to the connector's limit). */
  ConnectorFailed: 'Sv0ConnectorFailed',
  /** A connector container ran past its timeout and was killed. */
  ConnectorTimedOut: 'Sv0ConnectorTimedOut',
  /** A CloudFormation stack failed to create or delete. */
  StackFailed: 'Sv0StackFailed',
  /** Teardown finished but resources that carry the demo's tag are still there. */
  LeftoversRemain: 'Sv0LeftoversRemain',
  /** A demo would take a fixed name (an IAM role) that another demo in the account holds. */
  DemoConflict: 'Sv0DemoConflict',
  /** The target account is frozen (FreezeAccount attached): no demo starts there until it is unfrozen. */
  AccountFrozen: 'Sv0AccountFrozen',
  /**
   * A budget of the account sets `forecastAction: block-demos` and its month-end forecast passes
   * 100 %: no new demo starts there.
   */
  ForecastOverBudget: 'Sv0ForecastOverBudget',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

export const NON_RETRYABLE_ERROR_TYPES: readonly ErrorType[] = [
  ErrorType.BadConfig,
  ErrorType.InputRefused,
  ErrorType.SandboxRefused,
  ErrorType.AccessDenied,
  ErrorType.AccountCreationFailed,
  ErrorType.PlanChanged,
  ErrorType.SecretUnavailable,
  ErrorType.ImageUnavailable,
  ErrorType.DemoConflict,
  ErrorType.AccountFrozen,
  ErrorType.ForecastOverBudget,
];
