/**
 * The shape the plan steps share: create a thing, and when AWS answers that it exists already,
 * bring the one there in line instead (or accept it); read a thing back, or learn that it is not
 * there. A role with one inline policy (the budget freeze role, the connector credentials role) is
 * both, once. Every other failure is classified ({@link classifyAwsError}) with what it was about.
 */
import {
  CreateRoleCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  type IAMClient,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { aws, awsErrorName, classifyAwsError } from './errors';

/** AWS error names that say "it exists already" (IAM, Budgets, CloudFormation). */
const EXISTS = /^(EntityAlreadyExists|DuplicateRecord|AlreadyExists)(Exception)?$/;
/** AWS error names that say "it is not there". */
const NOT_THERE = /NotFound|NoSuchEntity/;

/**
 * Create what `what` names; when AWS answers that it exists already, run `existing` (update it),
 * or accept it when there is nothing to update.
 */
export async function createOrUpdate(
  what: string,
  create: () => Promise<unknown>,
  existing: () => Promise<unknown> = () => Promise.resolve(),
): Promise<void> {
  try {
    await create();
  } catch (err) {
    if (!EXISTS.test(awsErrorName(err) ?? '')) throw classifyAwsError(`create ${what}`, err);
    await existing();
  }
}

/** Read what `what` names; undefined when AWS answers that it is not there. */
export async function readIfThere<T>(what: string, read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (NOT_THERE.test(awsErrorName(err) ?? '')) return undefined;
    throw classifyAwsError(`read ${what}`, err);
  }
}

/** An IAM role with one inline policy, as the plan compares it (documents decoded). */
export interface LiveRoleWithPolicy {
  exists: boolean;
  trustPolicy?: string;
  policy?: string;
}

/** Read back a role and its one inline policy (`what` names it in errors). */
export async function readRoleWithPolicy(
  iam: IAMClient,
  role: { name: string; policyName: string; what: string },
): Promise<LiveRoleWithPolicy> {
  const found = await readIfThere(role.what, () => iam.send(new GetRoleCommand({ RoleName: role.name })));
  if (!found) return { exists: false };
  const live: LiveRoleWithPolicy = { exists: true };
  const trust = found.Role?.AssumeRolePolicyDocument;
  if (trust) live.trustPolicy = decodeURIComponent(trust);
  const policy = await readIfThere(`${role.what}: policy ${role.policyName}`, () =>
    iam.send(new GetRolePolicyCommand({ RoleName: role.name, PolicyName: role.policyName })),
  );
  if (policy?.PolicyDocument) live.policy = decodeURIComponent(policy.PolicyDocument);
  return live;
}

/**
 * Create the role (tagged `sv0:owner=automated`), or set the trust policy of the one there; then set
 * its one inline policy. Idempotent.
 */
export async function ensureRoleWithPolicy(
  iam: IAMClient,
  role: {
    name: string;
    what: string;
    trustPolicy: string;
    description: string;
    maxSessionDuration?: number;
    policyName: string;
    policy: string;
  },
): Promise<void> {
  await createOrUpdate(
    role.what,
    () =>
      iam.send(
        new CreateRoleCommand({
          RoleName: role.name,
          AssumeRolePolicyDocument: role.trustPolicy,
          Description: role.description,
          ...(role.maxSessionDuration ? { MaxSessionDuration: role.maxSessionDuration } : {}),
          Tags: [{ Key: 'sv0:owner', Value: 'automated' }],
        }),
      ),
    () =>
      aws(`update the trust policy of ${role.what}`, () =>
        iam.send(
          new UpdateAssumeRolePolicyCommand({ RoleName: role.name, PolicyDocument: role.trustPolicy }),
        ),
      ),
  );
  await aws(`set the permissions of ${role.what}`, () =>
    iam.send(
      new PutRolePolicyCommand({
        RoleName: role.name,
        PolicyName: role.policyName,
        PolicyDocument: role.policy,
      }),
    ),
  );
}
