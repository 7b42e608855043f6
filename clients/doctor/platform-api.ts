/**
 * The `platform api` check: the platform API the health check asks (`GET
 * {platform.url}{syncsPath}?limit=1`), from here: run where the worker runs, so that names such as
 * `api` resolve as they do for it. The token is sent when it is an `env:` reference set here; other
 * references are the worker's to resolve, and the API's 401 without a token still shows that it is
 * there.
 */
import { networkCause } from '../../activities/http';
import { type ConnectorsConfig } from '../../lib/config/connectors';
import { secretRefScheme } from '../../lib/config/secret-refs';
import { type CheckResult } from './check';

export async function checkPlatformApi(
  ms: number,
  env: NodeJS.ProcessEnv,
  connectors?: ConnectorsConfig,
): Promise<CheckResult> {
  const name = 'platform api';
  if (!connectors) return { name, status: 'skipped', detail: 'connectors.yaml did not load' };
  const { platform } = connectors;
  const url = new URL(platform.syncsPath, platform.url);
  url.searchParams.set('limit', '1');
  const where = `${url.origin}${url.pathname}`;
  const token =
    secretRefScheme(platform.tokenRef) === 'env' ? env[platform.tokenRef.slice('env:'.length)] : undefined;
  // Only a value fetch accepts in a header: its refusal would quote the value.
  const sent = token !== undefined && /^[\x21-\x7e]+$/.test(token);
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { accept: 'application/json', ...(sent ? { authorization: `Bearer ${token}` } : {}) },
      signal: AbortSignal.timeout(ms),
    });
  } catch (err) {
    return {
      name,
      status: 'fail',
      unreachable: true,
      detail: `${where}: the request failed (${networkCause(err)})`,
      fix: `connector-health asks this API (platform.url in connectors.yaml): start the platform's compose project (its api service on the sv0-platform_default network) or correct platform.url; a compose service name such as api resolves only on that network, so run this check where the worker runs (\`docker compose -f docker-compose.temporal.yml exec worker sv0 doctor\`)`,
    };
  }
  await res.body?.cancel().catch(() => undefined);
  if (res.status === 401 || res.status === 403) {
    return sent
      ? {
          name,
          status: 'fail',
          detail: `${where}: HTTP ${res.status}, the token (${platform.tokenRef}) was refused`,
          fix: 'give the worker the platform token the API accepts (platform.tokenRef in connectors.yaml)',
        }
      : {
          name,
          status: 'ok',
          detail: `${where} answers (HTTP ${res.status} without a token; the worker sends ${platform.tokenRef})`,
        };
  }
  if (!res.ok) {
    return {
      name,
      status: 'warn',
      detail: `${where}: HTTP ${res.status}`,
      fix: 'check platform.url and platform.syncsPath in connectors.yaml against the platform API',
    };
  }
  return {
    name,
    status: 'ok',
    detail: `${where} answers (HTTP ${res.status}${sent ? ', token accepted' : ''})`,
  };
}
