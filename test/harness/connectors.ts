import type { ConnectorSpec } from '../../lib/config/connectors';
import { stack } from './stack';

/**
 * A connector running the local test image with host networking (so it reaches stand-ins on
 * 127.0.0.1), one attempt and short windows; `over` and `vars` adjust it per test.
 */
export function testConnectorSpec(
  name: string,
  platformUrl: string,
  over: Partial<ConnectorSpec> = {},
  vars: Record<string, string> = {},
): ConnectorSpec {
  return {
    name,
    enabled: true,
    image: stack().connectorImage,
    args: ['--all', '--submit', '--platform-url', platformUrl],
    interval: '1h',
    network: 'host',
    timeout: '1m',
    memoryMb: 256,
    jitter: '1s',
    catchupWindow: '1m',
    retry: { maximumAttempts: 1, initialInterval: '1s', backoffCoefficient: 1, maximumInterval: '1s' },
    pauseAfterFailedRuns: 3,
    environment: { SV0_TEST_CONNECTOR: name, ...vars },
    secrets: [],
    ...over,
  };
}
