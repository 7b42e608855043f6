/**
 * The worker image (the Dockerfile, built by `bash scripts/stack.sh worker-image` on a Node 24 base
 * made without a registry), run through the Docker Engine API: one-off commands, and the compose
 * file's worker service against a local production stack (scripts/prod-stack.ts), with the
 * service's own environment and its secret mounted as compose mounts it.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, statSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { durationSeconds } from './compose-project';
import { REPO_ROOT } from './local-stack';
import type { ProductionStack } from './prod-stack';

/**
 * The worker image of the current sources, built when missing (CI's provisioning has built it
 * already, so there this only reads its tag). Returns the tag.
 */
export function ensureWorkerImage(): string {
  const result = spawnSync('bash', ['scripts/stack.sh', 'worker-image'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const tag = result.stdout.trim().split('\n').pop();
  if (result.status !== 0 || !tag)
    throw new Error(
      `bash scripts/stack.sh worker-image failed (exit ${result.status}); see its message above`,
    );
  return tag;
}

export interface ImageRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Run a command in the image to its end (the image's own CMD when `cmd` is absent), then remove it. */
export async function runWorkerImage(
  docker: Docker,
  image: string,
  opts: { cmd?: string[]; env?: Record<string, string>; binds?: string[]; networkMode?: string } = {},
): Promise<ImageRun> {
  const container = await docker.createContainer({
    Image: image,
    Cmd: opts.cmd,
    Env: Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`),
    Labels: { 'sv0.purpose': 'worker-image-test' },
    HostConfig: { Binds: opts.binds, NetworkMode: opts.networkMode ?? 'none' },
  });
  try {
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    const out = new PassThrough();
    const err = new PassThrough();
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    out.on('data', (c: Buffer) => stdout.push(c));
    err.on('data', (c: Buffer) => stderr.push(c));
    container.modem.demuxStream(stream, out, err);
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    // The attached stream can lag the exit by a moment.
    await new Promise((r) => setTimeout(r, 200));
    return {
      exitCode: StatusCode,
      stdout: Buffer.concat(stdout).toString('utf8'),
      stderr: Buffer.concat(stderr).toString('utf8'),
    };
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

export interface WorkerService {
  id: string;
  /** Everything the worker wrote so far (stdout and stderr). */
  logs(): Promise<string>;
  /** Run a command in the running container, as its user; resolves with its exit code and output. */
  exec(cmd: string[]): Promise<{ exitCode: number; output: string }>;
  /** `docker stop` with the compose file's stop_grace_period, or SIGKILL at once with `kill`. */
  stop(opts?: { kill?: boolean }): Promise<void>;
}

/**
 * Start the compose file's worker service from `image` against a local production stack: the
 * service's environment, with TEMPORAL_ADDRESS pointing at the stack (host networking: the stack
 * listens on 127.0.0.1), the container engine's socket mounted where DOCKER_HOST says, its group
 * added as compose's group_add does, and each compose secret mounted from the host file given in
 * `secrets` at the path compose mounts it. `env` adds what /etc/sv0/worker.env would hold.
 */
export async function startWorkerService(
  docker: Docker,
  opts: {
    image: string;
    stack: ProductionStack;
    /** The engine's socket on this machine (the worker starts connector containers through it). */
    dockerSocket: string;
    env?: Record<string, string>;
    secrets?: Record<string, string>;
    binds?: string[];
    name?: string;
  },
): Promise<WorkerService> {
  const service = opts.stack.project.services.worker;
  if (!service) throw new Error('docker-compose.temporal.yml has no worker service');
  const env: Record<string, string> = {
    ...(Object.fromEntries(Object.entries(service.environment ?? {}).filter(([, v]) => v !== null)) as Record<
      string,
      string
    >),
    TEMPORAL_ADDRESS: opts.stack.address,
    TEMPORAL_NAMESPACE: opts.stack.namespace,
    ...opts.env,
  };
  const socketInContainer = (env.DOCKER_HOST ?? 'unix:///var/run/docker.sock').replace(/^unix:\/\//, '');
  // The engine's socket is usually owner-only; the worker's user reaches it through its group.
  chmodSync(opts.dockerSocket, 0o660);
  const binds = [`${opts.dockerSocket}:${socketInContainer}`, ...(opts.binds ?? [])];
  for (const secret of service.secrets ?? []) {
    const file = opts.secrets?.[secret.source];
    if (!file) throw new Error(`no host file for the worker's secret ${secret.source}`);
    binds.push(`${file}:${secret.target ?? `/run/secrets/${secret.source}`}:ro`);
  }
  const container = await docker.createContainer({
    Image: opts.image,
    name: opts.name,
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Labels: { 'sv0.purpose': 'worker-image-test' },
    HostConfig: {
      Binds: binds,
      NetworkMode: 'host',
      GroupAdd: [String(statSync(opts.dockerSocket).gid)],
    },
  });
  await container.start();
  const grace = durationSeconds(service.stop_grace_period ?? '10s');
  return {
    id: container.id,
    async logs() {
      const raw = (await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
      return demux(raw);
    },
    async exec(cmd) {
      const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
      const stream = await exec.start({ hijack: true, stdin: false });
      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on('data', (c: Buffer) => chunks.push(c));
      container.modem.demuxStream(stream, out, out);
      await new Promise((resolve) => stream.on('end', resolve));
      const { ExitCode } = await exec.inspect();
      return { exitCode: ExitCode ?? -1, output: Buffer.concat(chunks).toString('utf8') };
    },
    async stop({ kill = false } = {}) {
      if (kill) await container.kill({ signal: 'SIGKILL' }).catch(() => undefined);
      else await container.stop({ t: grace }).catch(() => undefined);
      await container.remove({ force: true }).catch(() => undefined);
    },
  };
}

/** The text of a multiplexed log buffer (8-byte frame headers), stdout and stderr interleaved. */
function demux(raw: Buffer): string {
  const parts: Buffer[] = [];
  for (let at = 0; at + 8 <= raw.length;) {
    const size = raw.readUInt32BE(at + 4);
    parts.push(raw.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}
