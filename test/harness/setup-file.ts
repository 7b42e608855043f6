/**
 * Runs in each test process before its files: the SDK's own logs at WARN, so worker state changes
 * do not bury test output. (Runtime.install works once per process, hence the guard.)
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';

const installed = Symbol.for('sv0.test.runtime-installed');
const registry = globalThis as unknown as Record<symbol, boolean>;
if (!registry[installed]) {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  registry[installed] = true;
}
