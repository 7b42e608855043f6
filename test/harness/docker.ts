import Docker from 'dockerode';
import { stack } from './stack';

/** A dockerode client on the test run's container engine (Podman's Docker API). */
export function testDocker(): Docker {
  return dockerAt(stack().dockerHost);
}

/**
 * A dockerode client for `host` (a DOCKER_HOST value), resolved as the worker resolves its own:
 * dockerode reads DOCKER_HOST only from the process environment, so it is set for the call.
 */
export function dockerAt(host: string): Docker {
  const saved = process.env.DOCKER_HOST;
  process.env.DOCKER_HOST = host;
  try {
    return new Docker();
  } finally {
    if (saved === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = saved;
  }
}
