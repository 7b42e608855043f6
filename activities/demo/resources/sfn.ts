/** Step Functions state machines. */
import {
  DeleteStateMachineCommand,
  ListTagsForResourceCommand,
  paginateListStateMachines,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { iso, toMap, type Listing } from './listing';

/** Every state machine, with its tags and creation time. */
export async function listStateMachines(sfn: SFNClient, found: Listing): Promise<void> {
  for await (const page of paginateListStateMachines({ client: sfn }, {})) {
    for (const m of page.stateMachines ?? []) {
      if (!m.stateMachineArn) continue;
      const tags = await found.tagsOf(m.stateMachineArn, async () =>
        toMap(
          (await sfn.send(new ListTagsForResourceCommand({ resourceArn: m.stateMachineArn }))).tags?.map(
            (t) => ({ Key: t.key, Value: t.value }),
          ),
        ),
      );
      if (tags) found.add(m.stateMachineArn, tags, iso(m.creationDate));
    }
  }
}

export async function deleteStateMachine(sfn: SFNClient, arn: string): Promise<void> {
  await sfn.send(new DeleteStateMachineCommand({ stateMachineArn: arn }));
}
