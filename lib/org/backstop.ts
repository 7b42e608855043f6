/**
 * The AWS side of the budget freeze, as documents: the SNS topic budget notifications publish to,
 * and the role AWS Budgets assumes to attach FreezeAccount when the worker is not there to do it.
 * The org planner compares the live documents with these; the bootstrap's activities write them.
 *
 * Pure code: the planner runs inside workflows.
 */

/** The service principal of AWS Budgets (notifications and actions). */
export const BUDGETS_SERVICE = 'budgets.amazonaws.com';
/** The service principal Cost Anomaly Detection publishes to SNS as. */
export const COST_ANOMALY_SERVICE = 'costalerts.amazonaws.com';
/** Budgets, Cost Explorer and the alerts topic live in us-east-1. */
export const ALERTS_REGION = 'us-east-1';

/** The ARN of the alerts topic in the management account. */
export function alertsTopicArn(managementAccountId: string, topic: string): string {
  return `arn:aws:sns:${ALERTS_REGION}:${managementAccountId}:${topic}`;
}

/** The ARN of a role of the management account (path `/`). */
export function managementRoleArn(managementAccountId: string, role: string): string {
  return `arn:aws:iam::${managementAccountId}:role/${role}`;
}

/** The name of the Cost Anomaly Detection subscription that sends a monitor's anomalies to the topic. */
export function anomalySubscriptionName(monitor: string): string {
  return `${monitor}-alerts`;
}

/**
 * Who may publish to the alerts topic: AWS Budgets and Cost Anomaly Detection, each only on behalf
 * of the management account (`aws:SourceAccount`), so another account's budget cannot use the topic.
 */
export function alertsTopicPolicy(managementAccountId: string, topicArn: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AwsBudgetsPublish',
        Effect: 'Allow',
        Principal: { Service: BUDGETS_SERVICE },
        Action: 'SNS:Publish',
        Resource: topicArn,
        Condition: {
          StringEquals: { 'aws:SourceAccount': managementAccountId },
          ArnLike: { 'aws:SourceArn': `arn:aws:budgets::${managementAccountId}:*` },
        },
      },
      {
        Sid: 'CostAnomalyDetectionPublish',
        Effect: 'Allow',
        Principal: { Service: COST_ANOMALY_SERVICE },
        Action: 'SNS:Publish',
        Resource: topicArn,
        Condition: { StringEquals: { 'aws:SourceAccount': managementAccountId } },
      },
    ],
  });
}

/** The trust policy of the freeze role: only AWS Budgets, only for the management account's budgets. */
export function budgetsFreezeTrustPolicy(managementAccountId: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: BUDGETS_SERVICE },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'aws:SourceAccount': managementAccountId } },
      },
    ],
  });
}

/**
 * What the freeze role may do: attach and detach service control policies on the sandbox accounts
 * named (by exact account ARN; never the root, an OU or another account), and read the
 * organization to find them. Budgets executes and reverses the action with it.
 */
export function budgetsFreezeRolePolicy(
  managementAccountId: string,
  sandboxAccountIds: readonly string[],
): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'FreezeSandboxAccounts',
        Effect: 'Allow',
        Action: ['organizations:AttachPolicy', 'organizations:DetachPolicy'],
        Resource: [
          `arn:aws:organizations::${managementAccountId}:policy/*/service_control_policy/*`,
          ...sandboxAccountIds.map((id) => `arn:aws:organizations::${managementAccountId}:account/*/${id}`),
        ],
      },
      {
        Sid: 'ReadOrganization',
        Effect: 'Allow',
        Action: [
          'organizations:DescribeOrganization',
          'organizations:DescribePolicy',
          'organizations:ListPolicies',
          'organizations:ListPoliciesForTarget',
          'organizations:ListTargetsForPolicy',
        ],
        Resource: '*',
      },
    ],
  });
}

/** The name of the freeze role's inline policy. */
export const BUDGETS_FREEZE_POLICY_NAME = 'sv0-freeze-sandbox-accounts';

/** Budgets action statuses (AWS's names) in which FreezeAccount is applied by the action. */
export const ACTION_APPLIED = 'EXECUTION_SUCCESS';
