/** CloudWatch Logs log groups. */
import {
  DeleteLogGroupCommand,
  ListTagsForResourceCommand,
  paginateDescribeLogGroups,
  type CloudWatchLogsClient,
} from '@aws-sdk/client-cloudwatch-logs';
import { arnResource, iso, toMap, type Listing } from './listing';

/** Every log group, with its tags and creation time. */
export async function listLogGroups(logs: CloudWatchLogsClient, found: Listing): Promise<void> {
  for await (const page of paginateDescribeLogGroups({ client: logs }, {})) {
    for (const g of page.logGroups ?? []) {
      // `arn` ends in `:*` (the group's streams); the group itself is the ARN without it.
      const arn = g.logGroupArn ?? g.arn?.replace(/:\*$/, '');
      if (!arn) continue;
      const tags = await found.tagsOf(arn, async () =>
        toMap((await logs.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags),
      );
      if (tags)
        found.add(arn, tags, g.creationTime === undefined ? undefined : iso(new Date(g.creationTime)));
    }
  }
}

export async function deleteLogGroup(logs: CloudWatchLogsClient, arn: string): Promise<void> {
  await logs.send(
    new DeleteLogGroupCommand({
      logGroupName: arnResource(arn)
        .replace(/^log-group:/, '')
        .replace(/:\*$/, ''),
    }),
  );
}
