/**
 * AWS side of the nightly sweep, one sandbox account at a time: plan which ephemeral-tagged
 * resources go (older than the maximum age or past their own sv0:ttl, owned by no running demo),
 * then delete the approved ones, stacks first. The sandbox check runs first, against live data.
 * The worker is the authority: ages are measured by the worker's own clock, and the regions read
 * are those the worker's own org.yaml's RegionLock allows (a region the input names outside them
 * is refused). A resource AWS gives no creation time is tagged sv0:first-seen on first sight
 * (outside a dry run) and aged from there. Resources without sv0:ephemeral 12 h old are reported,
 * and deleted too where the worker's own org.yaml sets `sweepUntagged: true` on the account; never
 * the orchestrator's own resources (`sv0-` names) nor the roles that org.yaml declares there.
 */
import { TagResourceCommand as EventsTagResource } from '@aws-sdk/client-eventbridge';
import { DescribeAccountCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { TagResourcesCommand } from '@aws-sdk/client-resource-groups-tagging-api';
import { TagResourceCommand as SnsTagResource } from '@aws-sdk/client-sns';
import { ApplicationFailure } from '@temporalio/common';
import type { DemoResource, FailedDeletion, SweepItem, SweepPlan } from '../../lib/contracts/demo';
import {
  ApplySweepInputSchema,
  SweepTargetInputSchema,
  type SweepTargetInput,
} from '../../lib/contracts/demo-inputs';
import { ORG_FILE, roleAccounts, type OrgConfig } from '../../lib/config/org';
import { allowedRegions } from '../../lib/config/region-lock';
import { ConfigError } from '../../lib/config/validate';
import { orchestratorOwned, sweepVerdict, untaggedAge } from '../../lib/sandbox';
import { configFile, loadOrgConfig } from '../../lib/runtime/config';
import { ErrorType, Tags } from '../../lib/names';
import { isNotFound } from '../aws/errors';
import { heartbeat } from '../aws/heartbeat';
import { refuseInput, validInput } from '../input';
import { sandboxAccess, type DemoActivitiesDeps } from './target';
import {
  clientsFor,
  deleteTagged,
  listResources,
  resourceRef,
  waitUntilStackGone,
  type TagClients,
  type TaggedResource,
} from './tagged-resources';

/**
 * Tag `sv0:first-seen=<at>` on a resource AWS gives no creation time: SNS topics and EventBridge
 * rules by their own APIs, the rest by the tagging API.
 */
async function tagFirstSeen(c: TagClients, r: TaggedResource, at: string): Promise<void> {
  const rc = clientsFor(c, r.arn);
  if (r.type === 'sns:topic') {
    await rc.sns.send(new SnsTagResource({ ResourceArn: r.arn, Tags: [{ Key: Tags.firstSeen, Value: at }] }));
    return;
  }
  if (r.type === 'events:rule') {
    await rc.events.send(
      new EventsTagResource({ ResourceARN: r.arn, Tags: [{ Key: Tags.firstSeen, Value: at }] }),
    );
    return;
  }
  const out = await rc.tagging.send(
    new TagResourcesCommand({ ResourceARNList: [r.arn], Tags: { [Tags.firstSeen]: at } }),
  );
  const failed = out.FailedResourcesMap?.[r.arn];
  if (failed) throw new Error(`${failed.ErrorCode ?? 'Error'}: ${failed.ErrorMessage ?? 'not tagged'}`);
}

/** What the sweep activities are built with. */
export interface DemoSweepDeps extends DemoActivitiesDeps {
  /**
   * The worker's own config folder: its org.yaml says which accounts set `sweepUntagged: true` and,
   * in its RegionLock SCP, which regions the sweep reads. Without it (or without an org.yaml),
   * untagged resources are only reported and only the worker's own region is read.
   */
  configDir?: string;
  /**
   * The worker's clock: it ages every resource and stamps sv0:first-seen. A `now` in the input
   * (sent by sweeps started before the worker took its own) is ignored.
   * @default Date.now
   */
  clock?: () => number;
}

export function createDemoSweepActivities(deps: DemoSweepDeps) {
  const { sandboxSession } = sandboxAccess(deps);
  const clock = deps.clock ?? Date.now;

  /** The worker's own org.yaml, read per call; undefined without a config folder or the file. */
  function workerOrg(): OrgConfig | undefined {
    if (!deps.configDir) return undefined;
    try {
      return loadOrgConfig(deps.configDir);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      if (err.problems.some((p) => p.reason === 'file not found')) return undefined;
      throw ApplicationFailure.nonRetryable(`the worker's ${err.message}`, ErrorType.BadConfig);
    }
  }

  /**
   * The regions the sweep reads: every one the worker's own org.yaml's RegionLock allows (without
   * one, the worker's own region). The input's `regions` (what the client read in its org.yaml)
   * are only checked: one outside the worker's is refused before anything is listed.
   */
  async function sweepRegions(input: SweepTargetInput, org: OrgConfig | undefined, c: TagClients) {
    const locked = org && allowedRegions(org);
    const regions = locked ?? [await c.tagging.config.region()];
    const outside = (input.regions ?? []).filter((r) => !regions.includes(r));
    if (outside.length > 0)
      refuseInput([
        `the sweep's regions ${outside.join(', ')} are not among those the worker sweeps (${regions.join(', ')}): ${
          locked
            ? `the aws:RequestedRegion list of the RegionLock SCP in the worker's ${configFile(deps.configDir!, ORG_FILE)}`
            : "the worker's own region, as it has no org.yaml with a RegionLock SCP"
        }; the worker reads no other`,
      ]);
    return regions;
  }

  /**
   * What the worker's own org.yaml says of the account, found by its live name (never by the name
   * a workflow's input gives): whether it sets `sweepUntagged: true` there, and the roles it
   * declares there (`crossAccountRoles`, `connectorCredentials`), which the sweep never deletes.
   */
  async function accountRules(
    org: OrgConfig | undefined,
    accountId: string,
  ): Promise<{ deleteUntagged: boolean; declaredRoles: string[] }> {
    if (!org) return { deleteUntagged: false, declaredRoles: [] };
    const live = await new OrganizationsClient(deps.aws).send(
      new DescribeAccountCommand({ AccountId: accountId }),
    );
    const name = live.Account?.Name ?? '';
    const account = org.accounts.find((a) => a.name === name);
    const declaredRoles = org.crossAccountRoles
      .filter((r) => roleAccounts(org, r).includes(name))
      .map((r) => r.name);
    if (org.connectorCredentials?.account === name) declaredRoles.push(org.connectorCredentials.role);
    return { deleteUntagged: account?.sandbox === true && account.sweepUntagged, declaredRoles };
  }

  async function planSweep(input: SweepTargetInput, c: TagClients): Promise<SweepPlan> {
    const running = new Set(input.runningDemoIds);
    const unreadable: NonNullable<SweepPlan['unreadable']> = [];
    const plan: SweepPlan = {
      accountId: input.target.accountId,
      stacks: [],
      resources: [],
      kept: [],
      unreadable,
    };
    const untagged: SweepItem[] = [];
    const org = workerOrg();
    const regions = await sweepRegions(input, org, c);
    const { deleteUntagged, declaredRoles } = await accountRules(org, input.target.accountId);
    const own = { orchestratorRole: deps.sandbox.orchestratorRole, declaredRoles };
    // One reference time for the whole plan, the worker's: a workflow's input cannot age anything.
    const now = clock();
    // What cannot be read is reported in the plan, never fatal: the rest of the account is swept.
    const found = await listResources(c, Tags.ephemeral, unreadable, regions);
    /** Its creation time, else its sv0:first-seen, else (an applying plan) first seen now. */
    const ageOf = async (r: TaggedResource): Promise<{ createdAt?: string; note: string }> => {
      const createdAt = r.createdAt ?? r.tags[Tags.firstSeen];
      if (createdAt !== undefined || !input.markFirstSeen) return { createdAt, note: '' };
      const at = new Date(now).toISOString();
      try {
        await tagFirstSeen(c, r, at);
        return { createdAt: at, note: '' };
      } catch (err) {
        return { note: ` (could not tag ${Tags.firstSeen}: ${(err as Error).message})` };
      }
    };
    for (const r of found.filter((x) => !(Tags.ephemeral in x.tags))) {
      if (orchestratorOwned(r.arn, own)) continue;
      // sv0:first-seen goes only where untagged resources may be deleted: elsewhere they are only read.
      const { createdAt, note } = deleteUntagged
        ? await ageOf(r)
        : { createdAt: r.createdAt ?? r.tags[Tags.firstSeen], note: '' };
      const age = untaggedAge({ createdAt, now, maxAgeMs: input.maxAgeMs });
      if (age === 'young') continue;
      if (age === 'old' && deleteUntagged) {
        const item = { ...resourceRef(r), reason: 'untagged, older than 12h (sweepUntagged)' };
        (r.type === 'cloudformation:stack' ? plan.stacks : plan.resources).push(item);
      } else
        untagged.push({
          ...resourceRef(r),
          reason:
            age === 'old'
              ? 'untagged, older than 12h: reported only (sweepUntagged is off for this account)'
              : `untagged, age unknown: reported only${note}`,
        });
    }
    if (untagged.length > 0) plan.untagged = untagged;
    for (const r of found.filter((x) => Tags.ephemeral in x.tags)) {
      const { createdAt, note } = await ageOf(r);
      const v = sweepVerdict({
        tags: r.tags,
        createdAt,
        now,
        maxAgeMs: input.maxAgeMs,
        runningDemoIds: running,
      });
      const item = { ...resourceRef(r), reason: v.reason + note };
      if (!v.sweep) plan.kept.push(item);
      else if (r.type === 'cloudformation:stack') plan.stacks.push(item);
      else plan.resources.push(item);
    }
    return plan;
  }

  return {
    /**
     * The nightly sweep's plan for one account: ephemeral-tagged resources older than `maxAgeMs`
     * or past their `sv0:ttl`, not owned by a running demo. The sandbox check runs first, against live data.
     */
    async planAccountSweep(raw: SweepTargetInput): Promise<SweepPlan> {
      const input = validInput(SweepTargetInputSchema, raw, 'planAccountSweep');
      return planSweep(input, await sandboxSession(input, 'sv0-sweep'));
    },

    /**
     * Delete the approved items of one sweep step. The plan is recomputed here and only items that
     * are still candidates are touched, so a tag removed or a demo started since the plan is respected.
     */
    async applyAccountSweep(
      raw: SweepTargetInput & { step: 'stacks' | 'resources'; approved: string[] },
    ): Promise<{ deleted: DemoResource[]; failed: FailedDeletion[] }> {
      const input = validInput(ApplySweepInputSchema, raw, 'applyAccountSweep');
      const c = await sandboxSession(input, 'sv0-sweep');
      const fresh = await planSweep(input, c);
      const approved = new Set(input.approved);
      const items = (input.step === 'stacks' ? fresh.stacks : fresh.resources).filter((i) =>
        approved.has(i.arn),
      );
      const deleted: DemoResource[] = [];
      const failed: FailedDeletion[] = [];
      for (const item of items) {
        try {
          await deleteTagged(c, item);
          if (item.type === 'cloudformation:stack')
            await waitUntilStackGone(clientsFor(c, item.arn), item.arn);
          deleted.push(resourceRef(item));
        } catch (err) {
          if (isNotFound(err)) deleted.push(resourceRef(item));
          else failed.push({ ...resourceRef(item), error: (err as Error).message });
        }
        heartbeat(item.arn);
      }
      return { deleted, failed };
    },
  };
}
