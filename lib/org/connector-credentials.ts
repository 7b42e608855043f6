/**
 * The role that mints connectors' temporary AWS keys, as documents: the worker (management account
 * credentials) assumes it with an external id, and from it assumes the roles that trust its
 * account (SecurityV0-ReadOnly), whose keys go to a connector's container. The org planner
 * compares the live documents with these; the bootstrap's activities write them.
 *
 * Pure code: the planner runs inside workflows.
 */

/** The name of the role's inline policy. */
export const CONNECTOR_CREDENTIALS_POLICY_NAME = 'sv0-assume-connector-roles';

/**
 * Who may assume the role: principals of the management account (where the worker runs), and
 * only with the external id.
 */
export function connectorCredentialsTrustPolicy(managementAccountId: string, externalId: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'WorkerInManagementAccount',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${managementAccountId}:root` },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'sts:ExternalId': externalId } },
      },
    ],
  });
}

/**
 * What the role may do: assume exactly the roles named (by ARN; no wildcard), and nothing else.
 * Without this the role's own account would refuse the hop even where the target trusts it.
 */
export function connectorCredentialsRolePolicy(
  targets: readonly { accountId: string; role: string }[],
): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AssumeConnectorRoles',
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Resource: [...new Set(targets.map((t) => `arn:aws:iam::${t.accountId}:role/${t.role}`))].sort(),
      },
    ],
  });
}
