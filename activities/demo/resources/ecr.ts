/** ECR repositories, with their images. */
import {
  DeleteRepositoryCommand,
  ListTagsForResourceCommand,
  paginateDescribeRepositories,
  type ECRClient,
} from '@aws-sdk/client-ecr';
import { arnResource, iso, toMap, type Listing } from './listing';

/** Every repository, with its tags and creation time. */
export async function listRepositories(ecr: ECRClient, found: Listing): Promise<void> {
  for await (const page of paginateDescribeRepositories({ client: ecr }, {})) {
    for (const repo of page.repositories ?? []) {
      const arn = repo.repositoryArn;
      if (!arn) continue;
      const tags = await found.tagsOf(arn, async () =>
        toMap((await ecr.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags),
      );
      if (tags) found.add(arn, tags, iso(repo.createdAt));
    }
  }
}

export async function deleteRepository(ecr: ECRClient, arn: string): Promise<void> {
  // force: its images go with it (a repository that holds images cannot be deleted otherwise).
  await ecr.send(
    new DeleteRepositoryCommand({
      repositoryName: arnResource(arn).replace(/^repository\//, ''),
      force: true,
    }),
  );
}
