import type { AwsCredentialIdentity, Endpoint, Provider } from '@aws-sdk/types';
import type { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * The AWS client settings shared by every client the worker and the CLI make. In production they
 * are empty: the SDK resolves region (AWS_REGION, the profile's `region`), endpoints
 * (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>, the profile's `endpoint_url`) and credentials
 * (the default chain, AWS_PROFILE) itself. Tests pass moto's endpoint and static credentials.
 */
export interface AwsClientConfig {
  region?: string;
  endpoint?: string;
  credentials?: AwsCredentialIdentity | Provider<AwsCredentialIdentity>;
  /** S3 against moto needs path-style addressing (unset: path-style wherever an endpoint is configured). */
  forcePathStyle?: boolean;
  maxAttempts?: number;
  /** Tests route requests into one of moto's accounts with a handler that adds its header. */
  requestHandler?: NodeHttpHandler;
}

/** The settings production clients start from: none, so that the SDK's own resolution applies. */
export function defaultAwsConfig(): AwsClientConfig {
  return {};
}

/** What {@link configuredEndpoint} reads from a client's resolved configuration. */
interface EndpointConfig {
  config: {
    endpoint?: Provider<Endpoint>;
    serviceConfiguredEndpoint?: Provider<string | undefined>;
  };
}

/**
 * The endpoint a client sends to when one is configured, explicitly or the way the SDK finds it
 * (AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, the profile's `endpoint_url`); undefined for
 * AWS's own endpoints.
 */
export async function configuredEndpoint(client: EndpointConfig): Promise<string | undefined> {
  const explicit = await client.config.endpoint?.();
  if (explicit) {
    const port = explicit.port ? `:${explicit.port}` : '';
    return `${explicit.protocol}//${explicit.hostname}${port}${explicit.path === '/' ? '' : explicit.path}`;
  }
  return (await client.config.serviceConfiguredEndpoint?.()) ?? undefined;
}

/** True when the client's endpoint is a local stand-in (moto), where placeholder emails are fine. */
export async function isLocalAwsEndpoint(client: EndpointConfig): Promise<boolean> {
  const endpoint = await configuredEndpoint(client);
  return endpoint !== undefined && /^https?:\/\/(localhost|127\.[0-9.]+|\[::1\])(:|\/|$)/.test(endpoint);
}
