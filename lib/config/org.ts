import { z } from 'zod';
import { parseTtlTag } from '../duration';
import { FREEZE_POLICY_NAME, Roles, Tags } from '../names';
import { freezeExemptionProblems, hasExemptionTemplate, SANDBOX_ACCOUNT_ID } from '../org/freeze-exemption';
import { policyContent, policyStatements } from './policy-document';
import { checkTagPolicy, tagKey, TagPolicySchema, tagValue } from './tag-policy';

// The demo sweep's activity (activities/demo/sweep.ts) and its workflow test import it from here.

/**
 * config/org.yaml: the AWS Organization as the operator declares it. The org
 * bootstrap reconciles the live organization to it; demos, sweeps and budget freezes read which
 * accounts are sandbox. Everything AWS would reject is refused here, before any call.
 */

/** AWS's limit on an SCP document (characters of the content we send, which is minified JSON). */
export const SCP_MAX_CHARS = 5120;
/** In targets and role fields: the organization's root. */
export const ROOT_TARGET = 'root';
/** In role and assignment fields: the management account. */
export const MANAGEMENT_ACCOUNT = 'management';
/** In a role's `accounts`: every account marked `sandbox: true`. */
const SANDBOX_ACCOUNTS = 'sandbox';

const accountName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,49}$/, 'an account name is lower case letters, digits and dashes');

const ouName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9 _.-]{0,127}$/,
    'an OU name is letters, digits, space, dot, dash, underscore',
  );

function readableTtl(value: string): boolean {
  try {
    parseTtlTag(value);
    return true;
  } catch {
    return false;
  }
}

const AccountSchema = z.strictObject({
  name: accountName,
  email: z.email('not a valid email address'),
  /** Name of a declared OU. */
  ou: z.string().min(1),
  /** Demos, sweeps and budget freezes may act only in accounts marked sandbox. */
  sandbox: z.boolean().default(false),
  /**
   * Sandbox accounts only: the nightly sweep also deletes resources without the sv0:ephemeral tag
   * once they are 12 hours old (the cloud-nuke rule), never what the orchestrator owns (`sv0-` names)
   * nor the roles this file declares in the account. Off, it only reports them.
   */
  sweepUntagged: z.boolean().default(false),
  /** Cost allocation tags on the account (the sv0:* tags). */
  tags: z
    .record(tagKey, tagValue)
    .default({})
    .superRefine((tags, ctx) => {
      // The sweep and the demos' sandbox checks read these two tags; a value they cannot read must be
      // refused here, before the bootstrap writes it to AWS (same forms as parseTtlTag).
      const ttl = tags[Tags.ttl];
      if (ttl !== undefined && !readableTtl(ttl)) {
        ctx.addIssue({
          code: 'custom',
          path: [Tags.ttl],
          message: `"${ttl}" is not a TTL; write a duration (24h, 7d), a number of hours (24) or permanent`,
        });
      }
      const ephemeral = tags[Tags.ephemeral];
      if (ephemeral !== undefined && ephemeral !== 'true' && ephemeral !== 'false') {
        ctx.addIssue({
          code: 'custom',
          path: [Tags.ephemeral],
          message: `"${ephemeral}" is not true or false`,
        });
      }
    }),
});
export type AccountConfig = z.infer<typeof AccountSchema>;

/** A JSON policy document, written as JSON text (the form AWS shows) or as a YAML mapping. */
const PolicyDocumentSchema = z.union([z.string().min(1), z.record(z.string(), z.unknown())]);

const ScpSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_+=,.@-]{1,128}$/, 'an SCP name is 1-128 letters, digits or _+=,.@-'),
  description: z.string().max(512).default(''),
  /** `root`, OU names or account names. FreezeAccount has none: the budget guard attaches it. */
  targets: z.array(z.string().min(1)).default([]),
  document: PolicyDocumentSchema,
});

const managedPolicyArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:iam::(aws|[0-9]{12}):policy\/.+$/, 'not an IAM managed policy ARN');
const externalId = z
  .string()
  .regex(/^[\w+=,.@:/-]{2,1224}$/, 'an external id is 2-1224 letters, digits or _+=,.@:/-');

const CrossAccountRoleSchema = z.strictObject({
  name: z.string().regex(/^[\w+=,.@-]{1,64}$/, 'a role name is 1-64 letters, digits or _+=,.@-'),
  description: z.string().max(1000).default(''),
  /** Account names where the role lives, or `sandbox` for every sandbox account. */
  accounts: z.union([z.literal(SANDBOX_ACCOUNTS), z.array(z.string().min(1)).min(1)]),
  /** The account allowed to assume it: an account name or `management`. */
  trustedAccount: z.string().min(1),
  /** Required by the trust policy (sts:ExternalId). Not a secret (AWS says so), but unguessable is better. */
  externalId,
  managedPolicies: z.array(managedPolicyArn).min(1),
});
export type CrossAccountRoleConfig = z.infer<typeof CrossAccountRoleSchema>;

/**
 * The role the worker assumes to mint connectors' temporary AWS keys (the first hop of
 * worker.yaml's role chains): trusted by the management account with `externalId`, and allowed
 * only to assume the `crossAccountRoles` trusted by `account`.
 */
const ConnectorCredentialsSchema = z.strictObject({
  /** The account it lives in (declared in accounts). */
  account: z.string().min(1),
  role: z
    .string()
    .regex(/^[\w+=,.@-]{1,64}$/, 'a role name is 1-64 letters, digits or _+=,.@-')
    .default(Roles.connectorCredentials),
  externalId,
});

const IdentityCenterSchema = z.strictObject({
  users: z
    .array(
      z.strictObject({
        userName: z.string().regex(/^[\w+=,.@-]{1,128}$/, 'a user name is 1-128 letters, digits or _+=,.@-'),
        displayName: z.string().min(1),
        givenName: z.string().min(1),
        familyName: z.string().min(1),
        email: z.email('not a valid email address'),
      }),
    )
    .default([]),
  permissionSets: z
    .array(
      z.strictObject({
        name: z
          .string()
          .regex(/^[\w+=,.@-]{1,32}$/, 'a permission set name is 1-32 letters, digits or _+=,.@-'),
        description: z.string().max(700).default(''),
        /** ISO-8601 duration, 1-12 hours. */
        sessionDuration: z
          .string()
          .regex(/^PT([1-9]|1[0-2])H$/, 'write PT1H to PT12H')
          .default('PT8H'),
        managedPolicies: z.array(managedPolicyArn).default([]),
      }),
    )
    .default([]),
  assignments: z
    .array(
      z.strictObject({
        user: z.string().min(1),
        permissionSet: z.string().min(1),
        /** Account names or `management`. */
        accounts: z.array(z.string().min(1)).min(1),
      }),
    )
    .default([]),
});

const CostSchema = z.strictObject({
  /** Tag keys to activate as cost allocation tags (once AWS has seen them in billing data). */
  allocationTags: z.array(tagKey).default([]),
  /**
   * A Cost Anomaly Detection monitor per AWS service, and a subscription that publishes anomalies
   * of at least `alertAboveUsd` total impact to the budget alerts topic; omit to create none.
   */
  anomalyMonitor: z
    .strictObject({
      name: z.string().min(1).max(1024),
      /** @default 10 */
      alertAboveUsd: z.number({ message: 'alertAboveUsd is a number of US dollars' }).positive().default(10),
    })
    .optional(),
});

export const OrgSchema = z
  .strictObject({
    organizationalUnits: z.array(z.strictObject({ name: ouName })).min(1),
    accounts: z.array(AccountSchema).min(1),
    serviceControlPolicies: z.array(ScpSchema).default([]),
    identityCenter: IdentityCenterSchema.optional(),
    crossAccountRoles: z.array(CrossAccountRoleSchema).default([]),
    connectorCredentials: ConnectorCredentialsSchema.optional(),
    cost: CostSchema.default({ allocationTags: [] }),
    /**
     * The sv0:* tags' allowed values, declared once: the bootstrap writes them into an Organizations
     * tag policy, and demo owners must be among its `sv0:owner` values.
     */
    tagPolicy: TagPolicySchema.optional(),
  })
  .superRefine(checkOrg);
export type OrgConfig = z.infer<typeof OrgSchema>;

type Ctx = z.RefinementCtx;
type OrgInput = z.infer<typeof OrgSchema>;

function duplicates<T>(
  items: T[],
  key: (t: T) => string,
  report: (index: number, value: string) => void,
): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    const k = key(item);
    if (seen.has(k)) report(i, k);
    seen.add(k);
  });
}

/** Cross-field checks: what AWS would reject, or what would make the plan meaningless. */
function checkOrg(org: OrgInput, ctx: Ctx): void {
  const issue = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: 'custom', path, message });
  const ous = new Set(org.organizationalUnits.map((o) => o.name));
  const accounts = new Map(org.accounts.map((a) => [a.name, a]));
  /** Why `t` cannot be attached to: SCPs and the tag policy go to the root, an OU or an account. */
  const targetProblem = (t: string) =>
    t !== ROOT_TARGET && !ous.has(t) && !accounts.has(t)
      ? `"${t}" is neither "root", a declared OU nor a declared account`
      : undefined;

  duplicates(
    org.organizationalUnits,
    (o) => o.name,
    (i, v) => issue(['organizationalUnits', i, 'name'], `OU "${v}" is declared twice`),
  );
  duplicates(
    org.accounts,
    (a) => a.name,
    (i, v) => issue(['accounts', i, 'name'], `account "${v}" is declared twice`),
  );
  duplicates(
    org.accounts,
    (a) => a.email.toLowerCase(),
    (i, v) =>
      issue(
        ['accounts', i, 'email'],
        `email ${v} is used by another account; AWS requires a unique email per account`,
      ),
  );
  org.accounts.forEach((a, i) => {
    if (!ous.has(a.ou))
      issue(
        ['accounts', i, 'ou'],
        `OU "${a.ou}" is not declared in organizationalUnits (${[...ous].join(', ')})`,
      );
    if (a.name === MANAGEMENT_ACCOUNT)
      issue(['accounts', i, 'name'], `"${MANAGEMENT_ACCOUNT}" is reserved for the management account`);
    if (a.sweepUntagged && !a.sandbox)
      issue(
        ['accounts', i, 'sweepUntagged'],
        'the sweep acts only in sandbox accounts; mark the account sandbox: true or remove sweepUntagged',
      );
  });

  duplicates(
    org.serviceControlPolicies,
    (p) => p.name,
    (i, v) => issue(['serviceControlPolicies', i, 'name'], `SCP "${v}" is declared twice`),
  );
  org.serviceControlPolicies.forEach((p, i) => {
    const at = ['serviceControlPolicies', i];
    const content = policyContent(p.document);
    if ('error' in content) issue([...at, 'document'], content.error);
    else {
      if (content.text.length > SCP_MAX_CHARS) {
        issue(
          [...at, 'document'],
          `the document is ${content.text.length} characters (minified); AWS allows ${SCP_MAX_CHARS}`,
        );
      }
      for (const problem of documentProblems(content.value)) issue([...at, 'document'], problem);
    }
    p.targets.forEach((t, j) => {
      const problem = targetProblem(t);
      if (problem) issue([...at, 'targets', j], problem);
    });
    if (p.name === FREEZE_POLICY_NAME) {
      if (p.targets.length > 0)
        issue(
          [...at, 'targets'],
          `${FREEZE_POLICY_NAME} is attached only by the budget guard; remove its targets`,
        );
      if ('value' in content) {
        const deployed = new Set(
          org.crossAccountRoles.filter((r) => r.accounts === SANDBOX_ACCOUNTS).map((r) => r.name),
        );
        for (const problem of freezeExemptionProblems(content.value, deployed))
          issue([...at, 'document'], `${FREEZE_POLICY_NAME} ${problem}`);
      }
    } else if ('text' in content && hasExemptionTemplate(content.text)) {
      issue(
        [...at, 'document'],
        `${SANDBOX_ACCOUNT_ID} is filled in only in ${FREEZE_POLICY_NAME}'s exemption; write account ids here`,
      );
    }
  });

  duplicates(
    org.crossAccountRoles,
    (r) => r.name,
    (i, v) => issue(['crossAccountRoles', i, 'name'], `role "${v}" is declared twice`),
  );
  org.crossAccountRoles.forEach((r, i) => {
    const at = ['crossAccountRoles', i];
    if (r.accounts === SANDBOX_ACCOUNTS) {
      if (!org.accounts.some((a) => a.sandbox))
        issue([...at, 'accounts'], 'no account is marked sandbox: true');
    } else {
      r.accounts.forEach((a, j) => {
        if (!accounts.has(a)) issue([...at, 'accounts', j], `account "${a}" is not declared in accounts`);
      });
    }
    if (r.trustedAccount !== MANAGEMENT_ACCOUNT && !accounts.has(r.trustedAccount)) {
      issue(
        [...at, 'trustedAccount'],
        `"${r.trustedAccount}" is neither "management" nor a declared account`,
      );
    }
  });
  const cc = org.connectorCredentials;
  if (cc) {
    if (!accounts.has(cc.account))
      issue(['connectorCredentials', 'account'], `account "${cc.account}" is not declared in accounts`);
    if (!org.crossAccountRoles.some((r) => r.trustedAccount === cc.account))
      issue(
        ['connectorCredentials', 'account'],
        `no crossAccountRoles entry trusts "${cc.account}", so the role could assume nothing`,
      );
    if (org.crossAccountRoles.some((r) => r.name === cc.role && roleAccounts(org, r).includes(cc.account)))
      issue(['connectorCredentials', 'role'], `role "${cc.role}" is also declared in crossAccountRoles`);
  }

  if (org.tagPolicy) {
    org.tagPolicy.targets.forEach((t, j) => {
      const problem = targetProblem(t);
      if (problem) issue(['tagPolicy', 'targets', j], problem);
    });
    checkTagPolicy(org, org.tagPolicy, issue);
  }

  const ic = org.identityCenter;
  if (ic) {
    duplicates(
      ic.users,
      (u) => u.userName,
      (i, v) => issue(['identityCenter', 'users', i, 'userName'], `user "${v}" is declared twice`),
    );
    duplicates(
      ic.permissionSets,
      (p) => p.name,
      (i, v) =>
        issue(['identityCenter', 'permissionSets', i, 'name'], `permission set "${v}" is declared twice`),
    );
    const users = new Set(ic.users.map((u) => u.userName));
    const sets = new Set(ic.permissionSets.map((p) => p.name));
    ic.assignments.forEach((a, i) => {
      const at = ['identityCenter', 'assignments', i];
      if (!users.has(a.user))
        issue([...at, 'user'], `user "${a.user}" is not declared in identityCenter.users`);
      if (!sets.has(a.permissionSet))
        issue([...at, 'permissionSet'], `permission set "${a.permissionSet}" is not declared`);
      a.accounts.forEach((acc, j) => {
        if (acc !== MANAGEMENT_ACCOUNT && !accounts.has(acc))
          issue([...at, 'accounts', j], `"${acc}" is neither "management" nor a declared account`);
      });
    });
  }
}

/** Problems AWS would reject in an SCP: no statements, or a condition with an empty value list (e.g. no regions). */
function documentProblems(doc: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const statements = policyStatements(doc);
  if (statements.length === 0) problems.push('the document has no Statement');
  statements.forEach((s: unknown, i) => {
    const condition = (s as { Condition?: Record<string, Record<string, unknown>> })?.Condition ?? {};
    for (const [operator, keys] of Object.entries(condition)) {
      for (const [key, values] of Object.entries(keys ?? {})) {
        if (Array.isArray(values) && values.length === 0) {
          const what =
            key === 'aws:RequestedRegion'
              ? 'the region list is empty (every regional call would be denied)'
              : 'the value list is empty';
          problems.push(`Statement[${i}].Condition.${operator}.${key}: ${what}`);
        }
      }
    }
  });
  return problems;
}

export const ORG_FILE = 'org.yaml';

/** The accounts where demos, sweeps and freezes may act. */
export function sandboxAccounts(org: OrgConfig): AccountConfig[] {
  return org.accounts.filter((a) => a.sandbox);
}

/** The accounts a role lives in, with `sandbox` expanded. */
export function roleAccounts(org: OrgConfig, role: CrossAccountRoleConfig): string[] {
  return role.accounts === SANDBOX_ACCOUNTS ? sandboxAccounts(org).map((a) => a.name) : role.accounts;
}

/**
 * The role demos and sweeps assume in a sandbox account (`sv0-orchestrator-deploy`) and its
 * external id, or undefined when org.yaml declares none there.
 */
export function deployRoleFor(
  org: OrgConfig,
  accountName: string,
): { roleName: string; externalId: string } | undefined {
  const role = org.crossAccountRoles.find(
    (r) => r.name === Roles.deploy && roleAccounts(org, r).includes(accountName),
  );
  return role ? { roleName: role.name, externalId: role.externalId } : undefined;
}
