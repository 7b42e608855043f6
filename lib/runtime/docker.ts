import Docker from 'dockerode';

/** Docker client from DOCKER_HOST (unix:// or tcp://), else the default socket. */
export function dockerFromEnv(env: NodeJS.ProcessEnv = process.env): Docker {
  const host = env.DOCKER_HOST;
  if (!host) return new Docker();
  if (host.startsWith('unix://')) return new Docker({ socketPath: host.slice('unix://'.length) });
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  return new Docker({ host: url.hostname, port: Number(url.port || 2375) });
}
