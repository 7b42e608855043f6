import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { CreateBucketCommand, HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { s3Client } from '../../../activities/demo/tagged-resources';
import { configuredEndpoint, defaultAwsConfig, isLocalAwsEndpoint } from '../../../lib/runtime/aws';
import { MOTO_DEFAULT_ACCOUNT } from '../../harness/aws';
import { stack } from '../../harness/stack';
import { uniqueId } from '../../harness/temporal';

/**
 * Production clients start from empty settings: the AWS SDK resolves region and endpoints itself
 * (AWS_REGION, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>). Against moto, reached only through
 * those variables.
 */
describe('AWS region and endpoints come from the SDK', () => {
  const credentials = () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'testing');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'testing');
  };
  afterEach(() => vi.unstubAllEnvs());

  it('reaches the endpoint and region of AWS_ENDPOINT_URL and AWS_REGION', async () => {
    credentials();
    vi.stubEnv('AWS_ENDPOINT_URL', stack().motoEndpoint);
    vi.stubEnv('AWS_REGION', 'us-west-2');
    const sts = new STSClient(defaultAwsConfig());
    expect(await sts.config.region()).toBe('us-west-2');
    expect(await configuredEndpoint(sts)).toBe(stack().motoEndpoint);
    expect(await isLocalAwsEndpoint(new OrganizationsClient(defaultAwsConfig()))).toBe(true);
    const who = await sts.send(new GetCallerIdentityCommand({}));
    expect(who.Account).toBe(MOTO_DEFAULT_ACCOUNT);
  });

  it('takes a service-specific endpoint for that service only', async () => {
    credentials();
    vi.stubEnv('AWS_ENDPOINT_URL', '');
    vi.stubEnv('AWS_ENDPOINT_URL_S3', stack().motoEndpoint);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    expect(await configuredEndpoint(s3Client(defaultAwsConfig()))).toBe(stack().motoEndpoint);
    const sts = new STSClient(defaultAwsConfig());
    expect(await configuredEndpoint(sts)).toBeUndefined();
    expect(await isLocalAwsEndpoint(sts)).toBe(false);
  });

  it('addresses S3 buckets path-style where an endpoint override is in force (moto has no bucket subdomains)', async () => {
    credentials();
    vi.stubEnv('AWS_ENDPOINT_URL_S3', stack().motoEndpoint);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    const s3 = s3Client(defaultAwsConfig());
    const bucket = uniqueId('endpoint-test');
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'v' }));
    await expect(s3.send(new HeadBucketCommand({ Bucket: bucket }))).resolves.toBeDefined();
  });

  it('addresses S3 virtual-hosted style against AWS itself', async () => {
    credentials();
    vi.stubEnv('AWS_REGION', 'us-east-1');
    const s3 = s3Client(defaultAwsConfig());
    const seen: string[] = [];
    s3.middlewareStack.add(
      () => async () => {
        throw new Error('stop before sending');
      },
      { step: 'finalizeRequest', name: 'stopBeforeSending', priority: 'low' },
    );
    s3.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { hostname?: string };
        if (request.hostname) seen.push(request.hostname);
        return next(args);
      },
      { step: 'finalizeRequest', name: 'recordHost', priority: 'high' },
    );
    await expect(s3.send(new HeadBucketCommand({ Bucket: 'some-bucket' }))).rejects.toThrow(
      'stop before sending',
    );
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/^some-bucket\.s3\.(us-east-1\.)?amazonaws\.com$/);
  });
});
