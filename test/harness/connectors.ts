import type { ConnectorSpec } from '../../lib/config/connectors';
import { stack } from './stack';
import { TEST_NETWORK } from './worker-settings';

/**
 * A connector running the local test image on the test network (it reaches stand-ins at
 * `platformUrl`, the stand-in's `containerUrl`), one attempt and short windows; `over` and `vars`
 * adjust it per test.
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
    network: TEST_NETWORK,
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
