import {
  DescribeOrganizationCommand,
  paginateListAccounts,
  type OrganizationsClient,
} from '@aws-sdk/client-organizations';
import {
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  type Client,
  type ScheduleOptions,
  type WorkflowHandle,
} from '@temporalio/client';
import type { NotificationsConfig } from '../lib/config/notifications';
import { deployRoleFor, sandboxAccounts, type OrgConfig } from '../lib/config/org';
import type { Scenario } from '../lib/config/scenarios';
import {
  DEMO_ACCOUNT_MEMO,
  DemoSearchAttributes,
  demoIdFromWorkflowId,
  destroyNowUpdate,
  extendUpdate,
  shortenUpdate,
  RUNNING_DEMOS_QUERY,
  statusQuery,
  type DemoInput,
  type DemoPhase,
  type DemoStatus,
  type DemoSweepInput,
  type DemoSweepResult,
  type DeployAccess,
} from '../lib/contracts/demo';
import { formatDuration, parseDuration } from '../lib/duration';
import { checkSandboxTarget, type GuardOrg } from '../lib/guards';
import { DEMO_ID_PATTERN, ScheduleIds, TaskQueues, WorkflowIds, WorkflowTypes } from '../lib/names';
import { CliError, ExitCode } from './output';

/**
 * Client side of demo lifecycles: resolve sandbox accounts from config and the live organization,
 * validate a demo before it starts, start/list/inspect/extend/destroy demos, run the sweep and keep
 * the `demo-sweep` schedule (for `sv0 up`). Everything is validated before anything changes.
 */

const bad = (message: string) => new CliError(message, ExitCode.BadInput);

/** The guard's view of config/org.yaml. */
function guardOrg(org: Pick<OrgConfig, 'accounts'> | GuardOrg): GuardOrg {
  return { accounts: org.accounts.map((a) => ({ name: a.name, sandbox: a.sandbox === true })) };
}

/** Sandbox accounts of config/org.yaml found in the live organization, with the deploy role to reach each. */
export async function resolveSandboxTargets(
  organizations: OrganizationsClient,
  org: OrgConfig,
  only?: { accountName?: string; accountId?: string },
): Promise<{ managementAccountId: string; targets: DeployAccess[] }> {
  const managementAccountId =
    (await organizations.send(new DescribeOrganizationCommand({}))).Organization?.MasterAccountId ?? '';
  const live = new Map<string, string>();
  for await (const page of paginateListAccounts({ client: organizations }, {})) {
    for (const a of page.Accounts ?? []) if (a.Name && a.Id) live.set(a.Name, a.Id);
  }
  const liveNameOf = (id: string) => [...live.entries()].find(([, v]) => v === id)?.[0];
  let names = sandboxAccounts(org).map((a) => a.name);
  if (only?.accountName) names = [only.accountName];
  if (only?.accountId) {
    const name = liveNameOf(only.accountId);
    if (!name) throw bad(`--account ${only.accountId}: no such account in the live organization`);
    names = [name];
  }
  if (names.length === 0) throw bad('config/org.yaml: accounts: no account is marked sandbox: true');
  const targets: DeployAccess[] = [];
  for (const name of names) {
    const accountId = live.get(name);
    if (!accountId)
      throw bad(
        `config/org.yaml: account ${name} is not in the live organization; run \`sv0 org apply\` first`,
      );
    const role = deployRoleFor(org, name);
    if (!role)
      throw bad(`config/org.yaml: crossAccountRoles: no sv0-orchestrator-deploy role for account ${name}`);
    const target: DeployAccess = {
      accountId,
      accountName: name,
      roleName: role.roleName,
      externalId: role.externalId,
    };
    const check = checkSandboxTarget({ ...target, org: guardOrg(org), managementAccountId });
    if (!check.ok) throw new CliError(`refused: ${check.reason}`, ExitCode.BadInput);
    targets.push(target);
  }
  return { managementAccountId, targets };
}

export interface DemoRequest {
  scenario: Scenario;
  id: string;
  owner: string;
  /** Strict duration; the scenario's default when omitted. */
  ttl?: string;
  target: DeployAccess;
  managementAccountId: string;
  org: GuardOrg;
  notifications: NotificationsConfig;
  warnBefore?: string;
}

/**
 * Check what a demo request can be checked for offline (id, owner, TTL against the scenario's
 * maximum) and return the TTL in milliseconds. Throws a BadInput CliError naming the flag.
 */
export function checkDemoRequest(
  req: Pick<DemoRequest, 'scenario' | 'id' | 'owner' | 'ttl' | 'warnBefore'>,
): number {
  if (!DEMO_ID_PATTERN.test(req.id))
    throw bad(`--id "${req.id}": use 1-40 lower case letters, digits and dashes`);
  if (!req.owner.trim()) throw bad('--owner: must not be empty');
  if (!/^[\w.@+=:/ -]{1,256}$/.test(req.owner))
    throw bad(`--owner "${req.owner}": letters, digits, spaces and _.@+=:/- only (it becomes a tag)`);
  const ttlMs = req.ttl === undefined ? req.scenario.defaultTtlMs : parseDuration(req.ttl, '--ttl');
  if (ttlMs > req.scenario.maxTtlMs) {
    throw bad(
      `--ttl ${req.ttl}: scenario ${req.scenario.name} allows at most ${req.scenario.maxTtl} (maxTtl in ${req.scenario.file})`,
    );
  }
  if (req.warnBefore !== undefined) {
    // warningLeadMs would silently shorten a longer lead; an explicit flag that cannot be honoured is refused.
    const warnMs = parseDuration(req.warnBefore, '--warn-before');
    if (warnMs > Math.floor(ttlMs / 2)) {
      throw bad(
        `--warn-before ${req.warnBefore}: must be at most half the TTL (${formatDuration(Math.floor(ttlMs / 2))} of ${formatDuration(ttlMs)})`,
      );
    }
  }
  return ttlMs;
}

/** Validate a demo request and build the workflow input (throws a BadInput CliError naming the flag). */
export function buildDemoInput(req: DemoRequest): DemoInput {
  const ttlMs = checkDemoRequest(req);
  return {
    id: req.id,
    scenario: {
      name: req.scenario.name,
      templateBody: req.scenario.templateBody,
      parameters: req.scenario.parameters,
      maxTtlMs: req.scenario.maxTtlMs,
    },
    owner: req.owner,
    ttlMs,
    target: req.target,
    managementAccountId: req.managementAccountId,
    org: { accounts: guardOrg(req.org).accounts.map((a) => ({ name: a.name, sandbox: a.sandbox === true })) },
    notifications: req.notifications.sinks,
    ...(req.warnBefore ? { warnBeforeMs: parseDuration(req.warnBefore, '--warn-before') } : {}),
  };
}

/** Start a demo. A running or finished demo with the same id is refused (ids are not reused). */
export async function startDemo(
  client: Client,
  input: DemoInput,
  opts: { taskQueue?: string } = {},
): Promise<WorkflowHandle> {
  const expiresAt = new Date(Date.now() + input.ttlMs);
  return client.workflow.start(WorkflowTypes.demoLifecycle, {
    workflowId: WorkflowIds.demo(input.id),
    taskQueue: opts.taskQueue ?? TaskQueues.infra,
    args: [input],
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
    memo: { [DEMO_ACCOUNT_MEMO]: input.target.accountId },
    typedSearchAttributes: [
      { key: DemoSearchAttributes.scenario, value: input.scenario.name },
      { key: DemoSearchAttributes.owner, value: input.owner },
      { key: DemoSearchAttributes.phase, value: 'deploying' },
      { key: DemoSearchAttributes.expiresAt, value: expiresAt },
    ],
  });
}

/** A demo as `sv0 demo list` shows it. */
export interface DemoListRow {
  id: string;
  scenario?: string;
  owner?: string;
  phase?: string;
  expiresAt?: string;
  timeLeft?: string;
  accountId?: string;
}

/** Running demos from visibility, soonest expiry first. */
export async function listDemos(client: Client, now = Date.now()): Promise<DemoListRow[]> {
  const rows: (DemoListRow & { expires: number })[] = [];
  for await (const wf of client.workflow.list({ query: RUNNING_DEMOS_QUERY })) {
    const id = demoIdFromWorkflowId(wf.workflowId);
    if (!id) continue;
    const sa = wf.typedSearchAttributes;
    const expires = sa.get(DemoSearchAttributes.expiresAt)?.getTime() ?? Number.POSITIVE_INFINITY;
    const left = Math.max(0, expires - now);
    rows.push({
      id,
      scenario: sa.get(DemoSearchAttributes.scenario),
      owner: sa.get(DemoSearchAttributes.owner),
      phase: sa.get(DemoSearchAttributes.phase),
      expiresAt: Number.isFinite(expires) ? new Date(expires).toISOString() : undefined,
      timeLeft: Number.isFinite(expires)
        ? formatDuration(Math.round(left / 60_000) * 60_000 || Math.round(left / 1000) * 1000 || 0)
        : undefined,
      accountId:
        typeof wf.memo?.[DEMO_ACCOUNT_MEMO] === 'string' ? (wf.memo[DEMO_ACCOUNT_MEMO] as string) : undefined,
      expires,
    });
  }
  return rows.sort((a, b) => a.expires - b.expires).map(({ expires: _e, ...row }) => row);
}

function demoHandle(client: Client, id: string) {
  if (!DEMO_ID_PATTERN.test(id)) throw bad(`demo id "${id}": use 1-40 lower case letters, digits and dashes`);
  return client.workflow.getHandle(WorkflowIds.demo(id));
}

/** A demo's status (the workflow's query; a closed demo still answers while a worker runs). */
export async function demoStatus(
  client: Client,
  id: string,
): Promise<DemoStatus & { workflowStatus: string }> {
  const handle = demoHandle(client, id);
  const described = await handle.describe();
  const status = await handle.query(statusQuery);
  return { ...status, workflowStatus: described.status.name };
}

/** Extend or shorten a demo; the workflow's validator rejects what breaks its limits, changing nothing. */
export async function moveDemoExpiry(
  client: Client,
  id: string,
  how: 'extend' | 'shorten',
  duration: string,
): Promise<string> {
  parseDuration(duration, how);
  return demoHandle(client, id).executeUpdate(how === 'extend' ? extendUpdate : shortenUpdate, {
    args: [duration],
  });
}

/** Ask a demo to tear down now. Returns the phase it was in. */
export async function destroyDemo(client: Client, id: string, reason: string): Promise<DemoPhase> {
  return demoHandle(client, id).executeUpdate(destroyNowUpdate, { args: [reason] });
}

export interface SweepRequest {
  targets: DeployAccess[];
  managementAccountId: string;
  org: GuardOrg;
  notifications: NotificationsConfig;
  apply: boolean;
  maxAge?: string;
}

/** The sweep workflow's input from validated config. */
export function buildSweepInput(req: SweepRequest): DemoSweepInput {
  return {
    accounts: req.targets,
    org: guardOrg(req.org),
    managementAccountId: req.managementAccountId,
    apply: req.apply,
    ...(req.maxAge ? { maxAgeMs: parseDuration(req.maxAge, '--max-age') } : {}),
    notifications: req.notifications.sinks,
  };
}

/** Run one sweep now and wait for its result. */
export async function runSweep(
  client: Client,
  input: DemoSweepInput,
  opts: { taskQueue?: string; workflowId?: string } = {},
): Promise<DemoSweepResult> {
  return client.workflow.execute(WorkflowTypes.demoSweep, {
    workflowId:
      opts.workflowId ?? `${ScheduleIds.demoSweep}-manual-${new Date().toISOString().replace(/[:.]/g, '-')}`,
    taskQueue: opts.taskQueue ?? TaskQueues.infra,
    args: [input],
  });
}

/** The nightly sweep schedule: 02:00 UTC, one run at a time, a missed night caught up within 6 h. Always applies. */
function demoSweepScheduleOptions(
  input: DemoSweepInput,
  opts: { taskQueue?: string; paused?: boolean } = {},
): ScheduleOptions {
  return {
    scheduleId: ScheduleIds.demoSweep,
    spec: { calendars: [{ hour: 2, minute: 0 }], timezone: 'UTC' },
    action: {
      type: 'startWorkflow',
      workflowType: WorkflowTypes.demoSweep,
      workflowId: `sv0-${ScheduleIds.demoSweep}`,
      taskQueue: opts.taskQueue ?? TaskQueues.infra,
      args: [{ ...input, apply: true }],
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: 6 * 3_600_000 },
    state: { paused: opts.paused ?? false, note: 'created by sv0 up: nightly demo sweep' },
  };
}

/**
 * Create the `demo-sweep` schedule, or update it to this input. With `paused` given, the schedule
 * is paused or unpaused to match (`sv0 up` holds destructive schedules back unless armed);
 * without it, an existing schedule keeps its state.
 */
export async function ensureDemoSweepSchedule(
  client: Client,
  input: DemoSweepInput,
  opts: { taskQueue?: string; paused?: boolean } = {},
): Promise<'created' | 'updated'> {
  const options = demoSweepScheduleOptions(input, opts);
  const handle = client.schedule.getHandle(ScheduleIds.demoSweep);
  try {
    await handle.update((prev) => ({
      ...prev,
      spec: options.spec,
      action: options.action,
      policies: options.policies,
    }));
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
    await client.schedule.create(options);
    return 'created';
  }
  if (opts.paused !== undefined) {
    const { state } = await handle.describe();
    if (opts.paused && !state.paused) await handle.pause('paused by sv0 up (safe mode)');
    if (!opts.paused && state.paused) await handle.unpause('armed by sv0 up --enable-destructive');
  }
  return 'updated';
}
