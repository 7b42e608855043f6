/**
 * The `aws` check: credentials, region and endpoint as the SDK resolves them (AWS_PROFILE,
 * AWS_REGION, AWS_ENDPOINT_URL and the profile's settings), and the account they reach.
 */
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { configuredEndpoint, defaultAwsConfig, isLocalAwsEndpoint } from '../../lib/runtime/aws';
import { message, timeout, type CheckResult } from './check';

/** The AWS regions the RegionLock SCP of config/org.yaml allows. */
const ALLOWED_REGIONS = ['us-east-1', 'us-west-2'];

/** Reads the process environment, as the worker's AWS clients do. */
export async function checkAws(ms: number): Promise<CheckResult> {
  const sts = new STSClient({ ...defaultAwsConfig(), maxAttempts: 1 });
  const endpoint = await configuredEndpoint(sts);
  const target = endpoint
    ? `${endpoint}${(await isLocalAwsEndpoint(sts)) ? ' (local stand-in)' : ''}`
    : 'AWS';
  try {
    const region = await sts.config.region();
    const who = await timeout(ms, 'STS', sts.send(new GetCallerIdentityCommand({})));
    const outside = !ALLOWED_REGIONS.includes(region);
    return {
      name: 'aws',
      status: outside ? 'warn' : 'ok',
      detail: `${target}: account ${who.Account} as ${who.Arn}; region ${region}`,
      ...(outside
        ? {
            fix: `the org's RegionLock SCP allows only ${ALLOWED_REGIONS.join(' and ')}: set AWS_REGION or the profile's region`,
          }
        : {}),
    };
  } catch (err) {
    const text = message(err);
    const noRegion = /region is missing/i.test(text);
    const noCredentials =
      /credential|Could not load|expired|ExpiredToken|InvalidClientTokenId|SignatureDoesNotMatch/i.test(text);
    return {
      name: 'aws',
      status: 'fail',
      unreachable: !noCredentials && !noRegion,
      detail: `${target}: GetCallerIdentity failed: ${text}`,
      fix: noRegion
        ? `set AWS_REGION (or the profile's region) to ${ALLOWED_REGIONS.join(' or ')}`
        : noCredentials
          ? 'give the SDK credentials: AWS_PROFILE (after `aws sso login` or `assume <profile>` with granted), or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; for the local stack use `npm run dev`'
          : endpoint
            ? `nothing answers at ${endpoint}: start moto (\`npm run dev\`) or unset AWS_ENDPOINT_URL for real AWS`
            : 'check the network path to AWS STS and AWS_REGION',
    };
  }
}
