import { ApplicationFailure } from '@temporalio/common';
import { ErrorType, Roles, Tags } from './names';
import { parseTtlTag } from './duration';

/**
 * Sandbox checks for destructive actions (demo teardown, the nightly sweep, budget freezes), as
 * aws-nuke has them: act only in accounts the config marks sandbox, never in the management account or an
 * account whose name or alias says prod, and never on resources without the ephemeral tag.
 *
 * Pure code: usable from workflows (deterministic), activities and the CLI alike. The schemas of
 * the activity inputs that carry these shapes are in lib/contracts/inputs.ts, out of the workflows'
 * module graph.
 */

/** The part of config/org.yaml the sandbox checks read. */
export interface SandboxOrg {
  accounts: readonly { name: string; sandbox?: boolean }[];
}

/** The sandbox checks' view of config/org.yaml: each account's name and whether it is a sandbox. */
export function sandboxOrg(org: SandboxOrg): { accounts: { name: string; sandbox: boolean }[] } {
  return { accounts: org.accounts.map((a) => ({ name: a.name, sandbox: a.sandbox === true })) };
}

/** A destructive action's target account, as the caller found it in the live organization. */
export interface SandboxTargetInput {
  accountId: string;
  /** The account's name in the live organization (Organizations DescribeAccount / ListAccounts). */
  accountName: string;
  /** IAM account aliases, when the caller could read them (ListAccountAliases in the account). */
  aliases?: readonly string[];
  /** The declared organization: only accounts listed there with `sandbox: true` may be targeted. */
  org: SandboxOrg;
  /** The organization's management account id (DescribeOrganization MasterAccountId). */
  managementAccountId: string;
}

/** Outcome of a sandbox check: `ok`, or the reason to refuse. */
export type SandboxCheck = { ok: true } | { ok: false; reason: string };

/** A name or alias that says prod: `prod`, `production`, `sv0-prod`, `prod-eu`, `myprod`. */
const PROD_PATTERN = /prod/i;

/** True when an account name or alias says prod. */
export function looksLikeProd(name: string): boolean {
  return PROD_PATTERN.test(name);
}

/**
 * Check that a destructive action may run in `accountId`. Returns the reason to refuse, or ok.
 * Every rule is checked against what the caller saw live (name, aliases, management account),
 * so a typo in config cannot aim the sweep at the wrong account.
 */
export function checkSandboxTarget(input: SandboxTargetInput): SandboxCheck {
  const { accountId, accountName, org, managementAccountId } = input;
  const who = `account ${accountId} (${accountName || 'no name'})`;
  if (!/^[0-9]{12}$/.test(accountId)) return { ok: false, reason: `${who}: not a 12-digit AWS account id` };
  if (!/^[0-9]{12}$/.test(managementAccountId)) {
    return {
      ok: false,
      reason: `${who}: the management account id is unknown, so the target cannot be checked`,
    };
  }
  if (accountId === managementAccountId) {
    return {
      ok: false,
      reason: `${who} is the organization's management account; destructive actions never run there`,
    };
  }
  for (const name of [accountName, ...(input.aliases ?? [])]) {
    if (looksLikeProd(name)) {
      return {
        ok: false,
        reason: `${who}: name or alias "${name}" says prod; destructive actions never run there`,
      };
    }
  }
  const declared = org.accounts.find((a) => a.name === accountName);
  if (!declared) {
    return {
      ok: false,
      reason: `${who} is not declared in config/org.yaml; only accounts marked sandbox: true are allowed`,
    };
  }
  if (declared.sandbox !== true) {
    return { ok: false, reason: `${who} is not marked sandbox: true in config/org.yaml` };
  }
  return { ok: true };
}

/**
 * Throw a non-retryable {@link ErrorType.SandboxRefused} failure unless {@link checkSandboxTarget}
 * allows the target. Works in workflows and activities (the failure is a plain ApplicationFailure).
 */
export function assertSandboxTarget(input: SandboxTargetInput): void {
  const result = checkSandboxTarget(input);
  if (!result.ok) throw ApplicationFailure.nonRetryable(result.reason, ErrorType.SandboxRefused);
}

/**
 * The worker's own sandbox settings (worker.yaml `sandbox`; without `accounts` there, the accounts
 * the worker's org.yaml marks `sandbox: true`). Activities decide by these, never by workflow input.
 */
export interface WorkerSandbox {
  /** Account names (as the live organization names them) or 12-digit ids. */
  accounts: readonly string[];
  /** The management account, pinned: never a sandbox, and must be the live organization's. */
  managementAccountId?: string;
}

/** A destructive action's target as the activity found it live, judged by the worker's settings. */
export interface WorkerSandboxTargetInput {
  accountId: string;
  /** The account's name in the live organization. */
  accountName: string;
  aliases?: readonly string[];
  /** The live organization's management account (DescribeOrganization MasterAccountId). */
  managementAccountId: string;
  sandbox: WorkerSandbox;
}

/**
 * The worker's sandbox check: the target must be one of the worker's sandbox accounts (by live
 * name or id), not the live or pinned management account, and no name or alias may say prod.
 */
export function checkWorkerSandboxTarget(input: WorkerSandboxTargetInput): SandboxCheck {
  const { accountId, accountName, managementAccountId, sandbox } = input;
  const who = `account ${accountId} (${accountName || 'no name'})`;
  if (!/^[0-9]{12}$/.test(accountId)) return { ok: false, reason: `${who}: not a 12-digit AWS account id` };
  if (!/^[0-9]{12}$/.test(managementAccountId))
    return {
      ok: false,
      reason: `${who}: the management account id is unknown, so the target cannot be checked`,
    };
  if (sandbox.managementAccountId !== undefined && sandbox.managementAccountId !== managementAccountId)
    return {
      ok: false,
      reason: `the live organization's management account is ${managementAccountId}, not ${sandbox.managementAccountId} as the worker's sandbox.managementAccountId says; nothing destructive runs until they agree`,
    };
  if (accountId === managementAccountId)
    return {
      ok: false,
      reason: `${who} is the organization's management account; destructive actions never run there`,
    };
  for (const name of [accountName, ...(input.aliases ?? [])]) {
    if (looksLikeProd(name))
      return {
        ok: false,
        reason: `${who}: name or alias "${name}" says prod; destructive actions never run there`,
      };
  }
  if (
    !sandbox.accounts.includes(accountId) &&
    !(accountName !== '' && sandbox.accounts.includes(accountName))
  )
    return {
      ok: false,
      reason: `${who} is not a sandbox account of the worker (sandbox.accounts in worker.yaml, else the accounts its org.yaml marks sandbox: true)`,
    };
  return { ok: true };
}

/** Throw a non-retryable {@link ErrorType.SandboxRefused} failure unless {@link checkWorkerSandboxTarget} allows the target. */
export function assertWorkerSandboxTarget(input: WorkerSandboxTargetInput): void {
  const result = checkWorkerSandboxTarget(input);
  if (!result.ok) throw ApplicationFailure.nonRetryable(result.reason, ErrorType.SandboxRefused);
}

/** Tags as a plain map (keys are case-sensitive, as AWS has them). */
export type TagMap = Readonly<Record<string, string>>;

/** True when the resource carries `sv0:ephemeral=true`: the only resources a sweep may touch. */
export function isEphemeral(tags: TagMap): boolean {
  return tags[Tags.ephemeral] === 'true';
}

/** The sweep never takes an untagged resource younger than this, whatever maximum age it is given. */
export const UNTAGGED_MIN_AGE_MS = 12 * 3_600_000;

/** What the worker knows is its own in one account, beside the `sv0-` names. */
export interface OwnRoles {
  /** The role the worker assumes in sandbox accounts (worker.yaml `sandbox.orchestratorRole`). */
  orchestratorRole: string;
  /**
   * The roles the worker's own config/org.yaml declares in this account (`crossAccountRoles`
   * whose accounts include it, `connectorCredentials.role` where it lives), whatever their names.
   */
  declaredRoles?: readonly string[];
}

/** Services whose ARNs name the resource with no type before it: `arn:aws:s3:::<bucket>`. */
const UNTYPED_ARN_SERVICES = new Set(['s3', 'sns', 'sqs']);

/**
 * True for what the sweep never deletes untagged: the orchestrator's own resources (one rule for
 * every type: a name starting `sv0-`, wherever the ARN's resource id has it: `role/sv0-x`,
 * `function:sv0-x:3`, `secret:sv0-x-AbCdEf`, `log-group:/aws/lambda/sv0-x`, `stack/sv0-x/<id>`,
 * `arn:aws:s3:::sv0-x`), OrganizationAccountAccessRole, the worker's orchestrator role, the roles
 * the worker's org.yaml declares in the account (IAM role names are case-insensitive) and what
 * AWS itself keeps in an account (service-linked and Identity Center roles, StackSets' stacks).
 */
export function orchestratorOwned(arn: string, own: OwnRoles): boolean {
  const [, , service = '', , , ...rest] = arn.split(':');
  const resource = rest.join(':');
  // The resource id's segments, without the type in front (role/, function:, log-group:, ...).
  const segments = resource.split(/[/:]/);
  const ids = UNTYPED_ARN_SERVICES.has(service) || segments.length === 1 ? segments : segments.slice(1);
  if (ids.some((s) => s.startsWith('sv0-'))) return true;
  if (service === 'iam' && resource.startsWith('role/')) {
    // Role ARNs carry the path: role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_x.
    const parts = resource.split('/');
    const name = parts.at(-1) ?? '';
    const path = parts.slice(1, -1).join('/');
    const kept = [Roles.organizationAccess, own.orchestratorRole, ...(own.declaredRoles ?? [])];
    return (
      kept.some((k) => k.toLowerCase() === name.toLowerCase()) ||
      /^(aws-reserved|aws-service-role)(\/|$)/.test(path) ||
      /^(AWSReservedSSO_|AWSServiceRoleFor)/.test(name)
    );
  }
  return service === 'cloudformation' && (ids[0] ?? '').startsWith('StackSet-');
}

/**
 * An untagged resource's age class for the sweep: `old` past `maxAgeMs` (never under
 * {@link UNTAGGED_MIN_AGE_MS}), `young`, or `age-unknown` where the service reports no creation time.
 */
export function untaggedAge(input: {
  createdAt?: string;
  now: number;
  maxAgeMs: number;
}): 'old' | 'young' | 'age-unknown' {
  const created = input.createdAt ? Date.parse(input.createdAt) : NaN;
  if (Number.isNaN(created)) return 'age-unknown';
  return input.now - created > Math.max(input.maxAgeMs, UNTAGGED_MIN_AGE_MS) ? 'old' : 'young';
}

/** Why a resource is, or is not, swept by the nightly sweep. */
export type SweepVerdict =
  | { sweep: true; reason: string }
  | { sweep: false; reason: 'untagged' | 'permanent' | 'owned' | 'young' | 'age-unknown' | 'bad-ttl' };

/**
 * Decide whether the nightly sweep deletes a resource: it must carry the ephemeral tag, not be
 * `sv0:ttl=permanent`, not belong to a running demo, and be older than `maxAgeMs` or past its own
 * `sv0:ttl`. A resource whose age is unknown is never swept (it is reported instead).
 */
export function sweepVerdict(input: {
  tags: TagMap;
  createdAt?: string;
  now: number;
  maxAgeMs: number;
  runningDemoIds: ReadonlySet<string>;
}): SweepVerdict {
  const { tags } = input;
  if (!isEphemeral(tags)) return { sweep: false, reason: 'untagged' };
  const ttlTag = tags[Tags.ttl];
  let ttlMs: number | undefined;
  if (ttlTag !== undefined) {
    if (ttlTag === 'permanent') return { sweep: false, reason: 'permanent' };
    try {
      ttlMs = parseTtlTag(ttlTag);
    } catch {
      return { sweep: false, reason: 'bad-ttl' };
    }
  }
  const demo = tags[Tags.demo];
  if (demo !== undefined && input.runningDemoIds.has(demo)) return { sweep: false, reason: 'owned' };
  const created = input.createdAt ? Date.parse(input.createdAt) : NaN;
  if (Number.isNaN(created)) return { sweep: false, reason: 'age-unknown' };
  const age = input.now - created;
  if (age > input.maxAgeMs)
    return { sweep: true, reason: `older than ${Math.round(input.maxAgeMs / 3_600_000)}h` };
  if (ttlMs !== undefined && age > ttlMs) return { sweep: true, reason: `past its sv0:ttl ${ttlTag}` };
  return { sweep: false, reason: 'young' };
}
