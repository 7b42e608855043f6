/**
 * Runs in each test process before each file: the SDK's own logs at WARN, so worker state changes
 * do not bury test output (Runtime.install works once per process, hence the guard); and after
 * each file, the suite's secret scan over what the file started, so a leak fails that file and
 * the run (see ./secret-registry.ts).
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { afterAll, inject } from 'vitest';
import { suiteSecrets } from './secret-registry';

const installed = Symbol.for('sv0.test.runtime-installed');
const registry = globalThis as unknown as Record<symbol, boolean>;
if (!registry[installed]) {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  registry[installed] = true;
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
