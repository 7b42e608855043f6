/**
 * AWS side of the nightly sweep, one sandbox account at a time: plan which ephemeral-tagged
 * resources go (older than the maximum age or past their own sv0:ttl, owned by no running demo),
 * then delete the approved ones, stacks first. The sandbox check runs first, against live data.
 * Every region org.yaml's RegionLock allows is read; a resource AWS gives no creation time is
 * tagged sv0:first-seen on first sight (outside a dry run) and aged from there.
 */
import { TagResourceCommand as SnsTagResource } from '@aws-sdk/client-sns';
import { TagResourcesCommand } from '@aws-sdk/client-resource-groups-tagging-api';
import {
  ApplySweepInputSchema,
  SweepTargetInputSchema,
  type DemoResource,
  type FailedDeletion,
  type SweepPlan,
  type SweepTargetInput,
} from '../../lib/contracts/demo';
import { sweepVerdict } from '../../lib/sandbox';
import { Tags } from '../../lib/names';
import { isNotFound } from '../aws/errors';
import { heartbeat } from '../aws/heartbeat';
import { validInput } from '../input';
import { sandboxAccess, type DemoActivitiesDeps } from './target';
import {
  clientsFor,
  deleteTagged,
  findTagged,
  resourceRef,
  waitUntilStackGone,
  type TagClients,
  type TaggedResource,
} from './tagged-resources';

/** Tag `sv0:first-seen=<at>` on a resource AWS gives no creation time: SNS by its own API, the rest by the tagging API. */
async function tagFirstSeen(c: TagClients, r: TaggedResource, at: string): Promise<void> {
  const rc = clientsFor(c, r.arn);
  if (r.type === 'sns:topic') {
    await rc.sns.send(new SnsTagResource({ ResourceArn: r.arn, Tags: [{ Key: Tags.firstSeen, Value: at }] }));
    return;
  }
  const out = await rc.tagging.send(
    new TagResourcesCommand({ ResourceARNList: [r.arn], Tags: { [Tags.firstSeen]: at } }),
  );
  const failed = out.FailedResourcesMap?.[r.arn];
  if (failed) throw new Error(`${failed.ErrorCode ?? 'Error'}: ${failed.ErrorMessage ?? 'not tagged'}`);
}

export function createDemoSweepActivities(deps: DemoActivitiesDeps) {
  const { sandboxSession } = sandboxAccess(deps);

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
    // What cannot be read is reported in the plan, never fatal: the rest of the account is swept.
    for (const r of await findTagged(c, Tags.ephemeral, () => true, unreadable, input.regions)) {
      let createdAt = r.createdAt ?? r.tags[Tags.firstSeen];
      let note = '';
      if (createdAt === undefined && input.markFirstSeen) {
        const at = new Date(input.now).toISOString();
        try {
          await tagFirstSeen(c, r, at);
          createdAt = at;
        } catch (err) {
          note = ` (could not tag ${Tags.firstSeen}: ${(err as Error).message})`;
        }
      }
      const v = sweepVerdict({
        tags: r.tags,
        createdAt,
        now: input.now,
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
