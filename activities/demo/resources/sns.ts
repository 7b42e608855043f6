/** SNS topics (AWS gives them no creation time: the sweep ages them by sv0:first-seen). */
import {
  DeleteTopicCommand,
  ListTagsForResourceCommand,
  paginateListTopics,
  type SNSClient,
} from '@aws-sdk/client-sns';
import { toMap, type Listing } from './listing';

/** Every topic, with its tags. */
export async function listTopics(sns: SNSClient, found: Listing): Promise<void> {
  for await (const page of paginateListTopics({ client: sns }, {})) {
    for (const t of page.Topics ?? []) {
      if (!t.TopicArn) continue;
      const tags = await found.tagsOf(t.TopicArn, async () =>
        toMap((await sns.send(new ListTagsForResourceCommand({ ResourceArn: t.TopicArn }))).Tags),
      );
      if (tags) found.add(t.TopicArn, tags);
    }
  }
}

export async function deleteTopic(sns: SNSClient, arn: string): Promise<void> {
  await sns.send(new DeleteTopicCommand({ TopicArn: arn }));
}
