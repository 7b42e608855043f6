/** EventBridge rules, on every bus, with their targets. */
import {
  DeleteRuleCommand,
  ListEventBusesCommand,
  ListRulesCommand,
  ListTagsForResourceCommand,
  ListTargetsByRuleCommand,
  RemoveTargetsCommand,
  type EventBridgeClient,
} from '@aws-sdk/client-eventbridge';
import { arnResource, toMap, type Listing } from './listing';

/** Every rule on every bus, with its tags, but those an AWS service manages. */
export async function listRules(events: EventBridgeClient, found: Listing): Promise<void> {
  const buses: string[] = [];
  let token: string | undefined;
  do {
    const out = await events.send(new ListEventBusesCommand({ NextToken: token }));
    for (const b of out.EventBuses ?? []) if (b.Name) buses.push(b.Name);
    token = out.NextToken;
  } while (token);
  for (const bus of buses.length > 0 ? buses : ['default']) {
    let next: string | undefined;
    do {
      const out = await events.send(new ListRulesCommand({ EventBusName: bus, NextToken: next }));
      for (const rule of out.Rules ?? []) {
        // A rule an AWS service manages goes with what made it, never on its own.
        const arn = rule.Arn;
        if (!arn || rule.ManagedBy) continue;
        const tags = await found.tagsOf(arn, async () =>
          toMap((await events.send(new ListTagsForResourceCommand({ ResourceARN: arn }))).Tags),
        );
        if (tags) found.add(arn, tags);
      }
      next = out.NextToken;
    } while (next);
  }
}

/** A rule (`rule/<name>` or `rule/<bus>/<name>`): its targets first, which AWS requires. */
export async function deleteRule(events: EventBridgeClient, arn: string): Promise<void> {
  const parts = arnResource(arn)
    .replace(/^rule\//, '')
    .split('/');
  const Rule = parts.at(-1)!;
  const EventBusName = parts.length > 1 ? parts[0] : undefined;
  for (;;) {
    const listed = await events.send(new ListTargetsByRuleCommand({ Rule, EventBusName }));
    const Ids = (listed.Targets ?? []).flatMap((t) => (t.Id ? [t.Id] : []));
    if (Ids.length === 0) break;
    const removed = await events.send(new RemoveTargetsCommand({ Rule, EventBusName, Ids }));
    const failed = removed.FailedEntries ?? [];
    if (failed.length > 0)
      throw new Error(
        `rule ${Rule}: could not remove target ${failed[0]!.TargetId}: ${failed[0]!.ErrorCode ?? ''} ${failed[0]!.ErrorMessage ?? ''}`.trim(),
      );
  }
  await events.send(new DeleteRuleCommand({ Name: Rule, EventBusName }));
}
