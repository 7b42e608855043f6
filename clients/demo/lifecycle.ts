/**
 * Demo lifecycles from the client side: validate a demo request before it starts, then start,
 * list, inspect, extend, shorten and destroy demos. Everything is validated before anything changes.
 */
import {
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import type { NotificationsConfig } from '../../lib/config/notifications';
import type { Scenario } from '../../lib/config/scenarios';
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
  type DeployAccess,
} from '../../lib/contracts/demo';
import { formatDuration, parseDuration } from '../../lib/duration';
import { sandboxOrg, type SandboxOrg } from '../../lib/sandbox';
import { DEMO_ID_PATTERN, TaskQueues, WorkflowIds, WorkflowTypes } from '../../lib/names';
import { CliError, ExitCode } from '../errors';

const bad = (message: string) => new CliError(message, ExitCode.BadInput);

export interface DemoRequest {
  scenario: Scenario;
  id: string;
  owner: string;
  /** Strict duration; the scenario's default when omitted. */
  ttl?: string;
  target: DeployAccess;
  managementAccountId: string;
  org: SandboxOrg;
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
    scenario: { name: req.scenario.name, maxTtlMs: req.scenario.maxTtlMs },
    owner: req.owner,
    ttlMs,
    target: req.target,
    managementAccountId: req.managementAccountId,
    org: sandboxOrg(req.org),
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
