/**
 * Runs in each test process before each file: the SDK's own logs at WARN, so worker state changes
 * do not bury test output (Runtime.install works once per process, hence the guard); unless the
 * file runs on a stack of its own, the shared local stack's lock, held from before the file's
 * first hook until after its last (test/harness/shared-stack.ts); and after each file, the suite's
 * secret scan over what the file started, so a leak fails that file and the run (see
 * ./secret-registry.ts).
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { suiteSecrets } from './secret-registry';
import { holdSharedStack, ownsItsStack } from './shared-stack';

const installed = Symbol.for('sv0.test.runtime-installed');
const registry = globalThis as unknown as Record<symbol, boolean>;
if (!registry[installed]) {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  registry[installed] = true;
}

const file = expect.getState().testPath ?? '';
const runDir = inject('testRunDir');
if (runDir && !ownsItsStack(file)) {
  let release: (() => void) | undefined;
  // Registered first: taken before the file's first beforeAll, released after every afterAll
  // (vitest runs after-hooks in reverse order), the secret scan's below included. Waiting for
  // the lock can take as long as the longest file, hence no timeout.
  beforeAll(async () => {
    release = await holdSharedStack(runDir, file);
  }, 0);
  afterAll(() => release?.());
}

const fileStart = new Date();

// Registered before the file's own hooks, so it runs after them (vitest runs after-hooks in
// reverse order): the file's registerLogs calls in its afterAll are in the registry by then.
afterAll(async () => {
  const stack = inject('stack');
  if (!stack) return;
  await suiteSecrets.assertNoLeaks({
    address: stack.temporalAddress,
    namespace: stack.namespace,
    since: fileStart,
  });
}, 300_000);
