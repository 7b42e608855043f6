/** The `container engine` check: the engine connector runs use (DOCKER_HOST), and the networks connectors join. */
import Docker from 'dockerode';
import { type ConnectorsConfig } from '../../lib/config/connectors';
import { message, timeout, type CheckResult } from './check';

/**
 * Network modes every engine has without a network of that name: Docker lists `host` and `none`,
 * Podman lists neither, and both run a container in them.
 */
const BUILT_IN_NETWORK_MODES = new Set(['host', 'none']);

/** Reads the process environment, as dockerode and the worker do; `connectors` when the file loaded. */
export async function checkContainerEngine(ms: number, connectors?: ConnectorsConfig): Promise<CheckResult> {
  const host = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock (default)';
  const docker = new Docker();
  try {
    await timeout(ms, 'the container engine', docker.ping());
    const version = await timeout(ms, 'the container engine', docker.version());
    const engine = `${version.Components?.[0]?.Name ?? 'Docker API'} ${version.Version} at ${host}`;
    const wanted = [
      ...new Set((connectors?.connectors ?? []).filter((c) => c.enabled).map((c) => c.network)),
    ];
    const networks = await timeout(ms, 'the container engine', docker.listNetworks());
    const names = new Set(networks.map((n) => n.Name));
    const absent = wanted.filter((n) => !names.has(n) && !BUILT_IN_NETWORK_MODES.has(n));
    if (absent.length > 0) {
      return {
        name: 'container engine',
        status: 'warn',
        detail: `${engine}; network ${absent.join(', ')} does not exist, so connector runs will fail`,
        fix: `start the platform's compose project (it creates sv0-platform_default), or \`docker network create ${absent[0]}\``,
      };
    }
    return {
      name: 'container engine',
      status: 'ok',
      detail: `${engine}${wanted.length ? `; network ${wanted.join(', ')} present` : ''}`,
    };
  } catch (err) {
    return {
      name: 'container engine',
      status: 'fail',
      unreachable: true,
      detail: `${host}: ${message(err)}`,
      fix: 'set DOCKER_HOST to your engine (unix:///run/docker.sock, or Podman: `podman system service --time=0 unix:///run/podman.sock` and DOCKER_HOST=unix:///run/podman.sock); check that this user may use the socket',
    };
  }
}
