import { inject } from 'vitest';
import type { StackTools } from '../../scripts/local-stack';

/** What the global setup started, for tests to point real clients at. */
export interface StackInfo {
  temporalAddress: string;
  namespace: string;
  motoEndpoint: string;
  /** DOCKER_HOST form: unix:///path or tcp://host:port. */
  dockerHost: string;
  dockerSocket?: string;
  /** Tag of the locally built test connector image (test/fixtures/connector-image). */
  connectorImage: string;
  tools: StackTools;
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
    /**
     * A folder of this run only: the workflow bundle test files share (test/harness/temporal.ts)
     * and the shared stack's lock (test/harness/shared-stack.ts).
     */
    testRunDir: string;
  }
}

/** The running local stack. */
export function stack(): StackInfo {
  const info = inject('stack');
  if (!info)
    throw new Error('the local stack is not running: run tests with `npm test` (vitest global setup)');
  return info;
}
