import Docker from 'dockerode';
import { dockerFromEnv } from '../../lib/runtime/docker';
import { stack } from './stack';

/** A dockerode client on the test run's container engine (Podman's Docker API). */
export function testDocker(): Docker {
  return dockerFromEnv({ DOCKER_HOST: stack().dockerHost });
}
