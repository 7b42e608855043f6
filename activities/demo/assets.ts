/**
 * A demo's file assets (Lambda code of a CDK app) in a bucket the demo owns: created with the demo
 * in its sandbox account, tagged like the demo's stack so teardown and the nightly sweep empty and
 * delete it with everything else. Object keys are content hashes, so every step can be repeated.
 */
import {
  paginateDescribeStacks,
  paginateListStackResources,
  type CloudFormationClient,
} from '@aws-sdk/client-cloudformation';
import { GetRoleCommand } from '@aws-sdk/client-iam';
import {
  CreateBucketCommand,
  PutBucketTaggingCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { readFileSync } from 'node:fs';
import type { FileAsset } from '../../lib/runtime/cdk/assembly';
import { zipFolder } from '../../lib/runtime/cdk/zip';
import { fixedRoleNames } from '../../lib/config/scenarios';
import { demoStackName } from '../../lib/contracts/demo';
import { ErrorType, Tags } from '../../lib/names';
import { isNotFound } from '../aws/errors';
import type { TagClients } from './tagged-resources';

const DEMO_STACK_PREFIX = demoStackName('');

/** The demo's asset bucket: `sv0-demo-<id>-<account id>`, unique per account and demo (at most 62 characters). */
export function demoAssetBucketName(demoId: string, accountId: string): string {
  return `${demoStackName(demoId)}-${accountId}`;
}

/** Create the bucket (or find the one a previous attempt made), private and tagged. */
export async function ensureAssetBucket(s3: S3Client, bucket: string, tags: Record<string, string>) {
  const region = await s3.config.region();
  try {
    await s3.send(
      new CreateBucketCommand({
        Bucket: bucket,
        ...(region === 'us-east-1'
          ? {}
          : { CreateBucketConfiguration: { LocationConstraint: region as never } }),
      }),
    );
  } catch (err) {
    if ((err as Error).name !== 'BucketAlreadyOwnedByYou') throw err;
  }
  await s3.send(
    new PutPublicAccessBlockCommand({
      Bucket: bucket,
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    }),
  );
  await s3.send(
    new PutBucketTaggingCommand({
      Bucket: bucket,
      Tagging: { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
    }),
  );
}

/** Upload each asset under its key: a directory zipped, a file as it is. */
export async function uploadAssets(s3: S3Client, bucket: string, assets: FileAsset[]): Promise<void> {
  for (const a of assets) {
    const body = a.packaging === 'zip' ? zipFolder(a.path) : readFileSync(a.path);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: a.objectKey, Body: body }));
  }
}

/** The demo whose stack holds a resource of this physical id, if any: `sv0-demo-<id>` stacks only. */
async function demoHolding(
  cloudformation: CloudFormationClient,
  physicalId: string,
): Promise<string | undefined> {
  for await (const page of paginateDescribeStacks({ client: cloudformation }, {})) {
    for (const stack of page.Stacks ?? []) {
      const demoId = stack.StackName?.startsWith(DEMO_STACK_PREFIX)
        ? stack.StackName.slice(DEMO_STACK_PREFIX.length)
        : undefined;
      if (!demoId || stack.StackStatus === 'DELETE_COMPLETE') continue;
      for await (const res of paginateListStackResources(
        { client: cloudformation },
        { StackName: stack.StackName },
      )) {
        if (res.StackResourceSummaries?.some((r) => r.PhysicalResourceId === physicalId)) return demoId;
      }
    }
  }
  return undefined;
}

/**
 * Refuse a template whose fixed-name IAM roles already exist in the account: such a role belongs to
 * another live demo of the scenario (or to someone else), and CloudFormation would fail late.
 */
export async function refuseTakenRoleNames(
  c: Pick<TagClients, 'iam' | 'cloudformation'>,
  opts: { scenario: string; demoId: string; accountId: string; templateBody: string },
): Promise<void> {
  for (const name of fixedRoleNames(opts.templateBody)) {
    let owner: string | undefined;
    try {
      const role = await c.iam.send(new GetRoleCommand({ RoleName: name }));
      owner = role.Role?.Tags?.find((t) => t.Key === Tags.demo)?.Value;
    } catch (err) {
      if (isNotFound(err)) continue;
      throw err;
    }
    owner ??= await demoHolding(c.cloudformation, name);
    if (owner === opts.demoId) continue;
    throw ApplicationFailure.nonRetryable(
      `scenario ${opts.scenario}: role ${name} already exists in account ${opts.accountId} (${owner ? `demo ${owner} holds it` : 'made outside sv0 demos'}); the role's name is fixed, so one demo of this scenario per account: destroy the other demo first`,
      ErrorType.DemoConflict,
    );
  }
}
