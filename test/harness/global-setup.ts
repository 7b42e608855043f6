/**
 * Starts the real local stack once for the whole test run: the Temporal dev server (search
 * attributes registered), moto and the Docker API (Podman), and hands their addresses to the tests.
 * Stops them all at the end, also when tests fail. A part that cannot start fails the run with a
 * message that says how to get it; nothing is skipped.
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import {
  REPO_ROOT,
  provisionStack,
  startDevServer,
  startDockerApi,
  startMoto,
  type Running,
} from '../../scripts/local-stack';
import { suiteSecrets } from './secret-registry';
import type { StackInfo } from './stack';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const tools = provisionStack();
  suiteSecrets.reset();
  // This run's own folder: the workflow bundle the first file makes, for the others to reuse, and
  // the shared stack's lock (test/harness/shared-stack.ts).
  const testRunDir = path.join(REPO_ROOT, '.sv0', 'test-runs', String(process.pid));
  rmSync(testRunDir, { recursive: true, force: true });
  mkdirSync(testRunDir, { recursive: true });
  const removeRunDir = () => rmSync(testRunDir, { recursive: true, force: true });
  project.provide('testRunDir', testRunDir);
  const started: Partial<Running>[] = [];
  const stopAll = async () => {
    await Promise.all(started.reverse().map((s) => s.stop?.()));
  };
  let scanTarget: { address: string; namespace: string } | undefined;
  try {
    const [temporal, moto, docker] = await Promise.all([
      startDevServer(tools).then((s) => (started.push(s), s)),
      startMoto(tools).then((s) => (started.push(s), s)),
      startDockerApi(tools).then((s) => (started.push(s), s)),
    ]);
    const info: StackInfo = {
      temporalAddress: temporal.address,
      namespace: temporal.namespace,
      motoEndpoint: moto.endpoint,
      dockerHost: docker.dockerHost,
      dockerSocket: docker.socketPath,
      connectorImage: tools.connectorImage,
      tools,
    };
    project.provide('stack', info);
    scanTarget = { address: temporal.address, namespace: temporal.namespace };
    process.stderr.write(
      `local stack: temporal ${info.temporalAddress}, moto ${info.motoEndpoint}, docker ${info.dockerHost}\n`,
    );
  } catch (err) {
    await stopAll();
    removeRunDir();
    throw err;
  }
  // After the last file, once more over every history on the server, also those that changed
  // after their file's own scan (test/harness/setup-file.ts). vitest only logs an error thrown
  // here and keeps the exit code: the per-file scans are the ones that fail a run.
  return async () => {
    try {
      if (scanTarget) {
        const report = await suiteSecrets.assertNoLeaks(scanTarget);
        if (report) {
          const { histories, schedules, payloads, decoded } = report;
          process.stderr.write(
            `secret scan: no registered secret in ${histories} histories, ${schedules} schedules, ${payloads} payloads (${decoded} decoded)\n`,
          );
        }
      }
    } finally {
      await stopAll();
      removeRunDir();
    }
  };
}
