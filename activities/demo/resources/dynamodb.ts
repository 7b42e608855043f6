/** DynamoDB tables. */
import {
  DeleteTableCommand,
  DescribeTableCommand,
  ListTagsOfResourceCommand,
  paginateListTables,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { arnResource, iso, toMap, type Listing } from './listing';

/** Every table, with its tags and creation time. */
export async function listTables(dynamodb: DynamoDBClient, found: Listing): Promise<void> {
  for await (const page of paginateListTables({ client: dynamodb }, {})) {
    for (const name of page.TableNames ?? []) {
      const table = (await dynamodb.send(new DescribeTableCommand({ TableName: name }))).Table;
      if (!table?.TableArn) continue;
      const arn = table.TableArn;
      const tags = await found.tagsOf(arn, async () =>
        toMap((await dynamodb.send(new ListTagsOfResourceCommand({ ResourceArn: arn }))).Tags),
      );
      if (tags) found.add(arn, tags, iso(table.CreationDateTime));
    }
  }
}

export async function deleteTable(dynamodb: DynamoDBClient, arn: string): Promise<void> {
  await dynamodb.send(new DeleteTableCommand({ TableName: arnResource(arn).replace(/^table\//, '') }));
}
