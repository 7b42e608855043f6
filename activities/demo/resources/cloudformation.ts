/** CloudFormation stacks. */
import {
  DeleteStackCommand,
  paginateDescribeStacks,
  waitUntilStackDeleteComplete,
  type CloudFormationClient,
} from '@aws-sdk/client-cloudformation';
import { withHeartbeat } from '../../aws/heartbeat';
import { iso, toMap, type Listing } from './listing';

/** Every stack not yet deleted, with its tags and creation time. */
export async function listStacks(cloudformation: CloudFormationClient, found: Listing): Promise<void> {
  for await (const page of paginateDescribeStacks({ client: cloudformation }, {})) {
    for (const s of page.Stacks ?? []) {
      if (!s.StackId || s.StackStatus === 'DELETE_COMPLETE') continue;
      found.add(s.StackId, toMap(s.Tags), iso(s.CreationTime));
    }
  }
}

/** Request a stack's delete (it goes on in AWS: {@link waitForStackDelete} waits for it). */
export async function deleteStack(cloudformation: CloudFormationClient, arn: string): Promise<void> {
  await cloudformation.send(new DeleteStackCommand({ StackName: arn }));
}

/** Wait (heartbeating, up to an hour) until a stack whose delete was requested is gone. */
export async function waitForStackDelete(
  cloudformation: CloudFormationClient,
  stackName: string,
): Promise<void> {
  await withHeartbeat((abortSignal) =>
    waitUntilStackDeleteComplete(
      { client: cloudformation, maxWaitTime: 3600, minDelay: 2, maxDelay: 15, abortSignal },
      { StackName: stackName },
    ),
  );
}
