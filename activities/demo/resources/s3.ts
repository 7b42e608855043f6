/** S3 (global): buckets, listed once, each read and deleted through its own region. */
import {
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetBucketTaggingCommand,
  ListBucketsCommand,
  ListObjectVersionsCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { configuredEndpoint, type AwsClientConfig } from '../../../lib/runtime/aws';
import { arnResource, iso, toMap, type Listing } from './listing';

/**
 * An S3 client that addresses buckets path-style wherever an endpoint override is in force (moto
 * and other S3 stand-ins serve no bucket subdomains), and virtual-hosted style against AWS.
 */
export function s3Client(config: AwsClientConfig): S3Client {
  // S3's endpoint parameter `forcePathStyle` takes a provider, resolved per request once the
  // client knows its endpoint; the client's config type declares only the boolean.
  const pathStyleWhereConfigured = async () => (await configuredEndpoint(client)) !== undefined;
  const client: S3Client = new S3Client({
    ...config,
    // A bucket of another region answers with a redirect: follow it instead of failing the read.
    followRegionRedirects: true,
    forcePathStyle: config.forcePathStyle ?? (pathStyleWhereConfigured as unknown as boolean),
  });
  return client;
}

/** Every bucket, with its tags and creation time. */
export async function listBuckets(s3: S3Client, found: Listing): Promise<void> {
  for (const b of (await s3.send(new ListBucketsCommand({}))).Buckets ?? []) {
    if (!b.Name) continue;
    const arn = `arn:aws:s3:::${b.Name}`;
    const tags = await found.tagsOf(arn, async () =>
      toMap((await s3.send(new GetBucketTaggingCommand({ Bucket: b.Name }))).TagSet),
    );
    if (tags) found.add(arn, tags, iso(b.CreationDate));
  }
}

/** A bucket, emptied first: every object version and delete marker. */
export async function deleteBucket(s3: S3Client, arn: string): Promise<void> {
  const bucket = arnResource(arn);
  for (;;) {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((o) => ({
      Key: o.Key!,
      VersionId: o.VersionId,
    }));
    if (objects.length === 0) break;
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }));
  }
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
}
