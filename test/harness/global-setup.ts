/**
 * Starts the real local stack once for the whole test run: the Temporal dev server (search
 * attributes registered), moto and the Docker API (Podman), and hands their addresses to the tests.
 * Stops them all at the end, also when tests fail. A part that cannot start fails the run with a
 * message that says how to get it; nothing is skipped.
 */
import type { TestProject } from 'vitest/node';
import {
  provisionStack,
  startDevServer,
  startDockerApi,
  startMoto,
  type Running,
} from '../../scripts/local-stack';
import type { StackInfo } from './stack';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const tools = provisionStack();
  const started: Partial<Running>[] = [];
  const stopAll = async () => {
    await Promise.all(started.reverse().map((s) => s.stop?.()));
  };
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
    process.stderr.write(
      `local stack: temporal ${info.temporalAddress}, moto ${info.motoEndpoint}, docker ${info.dockerHost}\n`,
    );
  } catch (err) {
    await stopAll();
    throw err;
  }
  return stopAll;
}
