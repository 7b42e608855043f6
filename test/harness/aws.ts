import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { AwsClientConfig } from '../../lib/runtime/aws';
import { stack } from './stack';

/** moto's default account: the organization's management account once CreateOrganization ran. */
export const MOTO_DEFAULT_ACCOUNT = '123456789012';

/** Sends every request into one moto account through moto's `x-moto-account-id` header. */
class MotoAccountHandler extends NodeHttpHandler {
  constructor(private readonly accountId: string) {
    super();
  }
  override handle(...[request, options]: Parameters<NodeHttpHandler['handle']>) {
    request.headers['x-moto-account-id'] = this.accountId;
    return super.handle(request, options);
  }
}

/**
 * AWS client settings for moto. With `accountId`, every request lands in that account's backend
 * (moto's multi-account switch). Use that for set-up and inspection in tests; code under test gets
 * member-account access the real way, by AssumeRole (moto returns keys of the role's account).
 */
export function motoConfig(accountId?: string): AwsClientConfig {
  return {
    region: 'us-east-1',
    endpoint: stack().motoEndpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    forcePathStyle: true,
    maxAttempts: 2,
    ...(accountId ? { requestHandler: new MotoAccountHandler(accountId) } : {}),
  };
}

/**
 * The environment a process or command reads to reach moto (what the AWS SDK takes from
 * AWS_*): `endpoint` is the stack's moto unless a test runs its own, or a request recorder.
 */
export function motoEnv(endpoint = stack().motoEndpoint): NodeJS.ProcessEnv {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
  };
}

/**
 * Wipe every service and account in moto, so a test starts from an empty AWS: the stack's moto, or
 * the one at `endpoint` (a file's own).
 */
export async function resetMoto(endpoint = stack().motoEndpoint): Promise<void> {
  const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
  if (!res.ok) throw new Error(`moto reset answered HTTP ${res.status}`);
}
