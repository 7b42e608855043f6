import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { isDigestImage } from '../../lib/config/connectors';
import type { ContainerRunResult } from '../../lib/contracts/connectors';
import { ContainerLabels } from '../../lib/names';
import type { Logger } from '../../lib/runtime/logger';

/**
 * Running connector containers. The runner is an interface so that a later runner can start
 * connectors elsewhere (a planned Lambda runner) without changing workflows; the implementation
 * here drives a Docker-compatible engine (Docker or Podman) through dockerode.
 */

/** One container run, fully resolved (it carries secret values: never log or return it). */
export interface ContainerRunSpec {
  connector: string;
  image: string;
  args: string[];
  env: Record<string, string>;
  /** Docker network to join (never `host`: the activity refuses it). */
  network: string;
  memoryMb: number;
  /** CPUs the container may use (Docker's --cpus). */
  cpus: number;
  /** Processes the container may run (Docker's --pids-limit). */
  pids: number;
  timeoutMs: number;
  workflowId: string;
  attempt: number;
  /**
   * `missing`: pull only when the engine has no copy. `always`: pull before the run; when that
   * fails, run the cached copy and say so (fail when there is none).
   */
  pull: 'missing' | 'always';
  /** Pull credentials, used for every pull of the image. */
  registryAuth?: { server: string; username: string; password: string };
  /** Values to mask in every log line (the connector's secrets). */
  redact: string[];
  /** Called every few seconds while the container runs; carries counts, never log text. */
  heartbeat: (details: { phase: string; lines: number }) => void;
  /** Aborted on activity cancellation or worker shutdown: the container is killed and removed. */
  signal: AbortSignal;
}

export interface ContainerRunner {
  run(spec: ContainerRunSpec): Promise<ContainerRunResult>;
  /** Remove containers we started that outlived their deadline (a worker crash leaks nothing). */
  reapOrphans(now: Date): Promise<string[]>;
}

/** Why a run could not start: permanent problems carry a kind the activity maps to an error type. */
export class ContainerRunError extends Error {
  override name = 'ContainerRunError';
  constructor(
    message: string,
    readonly kind: 'image' | 'config' | 'engine',
  ) {
    super(message);
  }
}

const REDACTED = '[redacted]';
/** How long after its timeout a container may live before the reaper removes it. */
const REAP_GRACE_MS = 60_000;
const LOG_TAIL_LINES = 40;
/**
 * Longest output line kept (longer ones are cut, with a note): the log tail goes into the failure,
 * and 40 lines of this stay far below Temporal's payload limits (warning at 512 KB, refusal at 2 MB).
 */
export const MAX_LINE_CHARS = 2_000;
const HEARTBEAT_EVERY_MS = 5_000;
/** Output kept while waiting for a line's end. */
const MAX_BUFFERED_CHARS = 64 * 1024;

/**
 * The forms in which a connector may print a secret: as is, JSON-escaped (inside a JSON string),
 * URL-encoded (in a URL or form body) and base64 (standard and URL alphabets, as the whole value
 * is encoded: a token in a Basic auth header or a data URL).
 */
export function secretForms(value: string): string[] {
  const b64 = Buffer.from(value, 'utf8').toString('base64');
  const forms = [
    value,
    JSON.stringify(value).slice(1, -1),
    encodeURIComponent(value),
    encodeURIComponent(value).replace(/%20/g, '+'),
    b64,
    b64.replace(/=+$/, ''),
    b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''),
  ];
  return forms.filter((f) => f.length > 0);
}

/**
 * Mask every secret value in a text, in each of its {@link secretForms}, longest first (so a value
 * that contains another is masked whole). Multi-line values are also masked line by line, since
 * logs are handled per line.
 */
export function createRedactor(values: readonly string[]): (text: string) => string {
  const parts = new Set<string>();
  for (const v of values) {
    if (v.length === 0) continue;
    for (const form of secretForms(v)) parts.add(form);
    for (const line of v.split(/\r?\n/))
      if (line.trim().length > 0) for (const form of secretForms(line)) parts.add(form);
  }
  const sorted = [...parts].sort((a, b) => b.length - a.length);
  return (text) => sorted.reduce((t, v) => (t.includes(v) ? t.split(v).join(REDACTED) : t), text);
}

/** A line cut to {@link MAX_LINE_CHARS}, after redaction (a cut must not split a secret in two). */
function capLine(line: string): string {
  return line.length <= MAX_LINE_CHARS
    ? line
    : `${line.slice(0, MAX_LINE_CHARS)}… [${line.length - MAX_LINE_CHARS} more characters cut]`;
}

function statusCode(err: unknown): number | undefined {
  return (err as { statusCode?: number }).statusCode;
}

function engineMessage(err: unknown): string {
  const e = err as { json?: { message?: string }; reason?: string; message?: string };
  return e.json?.message ?? e.reason ?? e.message ?? String(err);
}

/** The engine's answer to a create whose image is not there (Docker: "No such image"; Podman: "image not known"). */
function isMissingImage(err: unknown): boolean {
  const text = engineMessage(err);
  return statusCode(err) === 404 && /image/i.test(text) && !/network/i.test(text);
}

/** A failed create or start: a missing network is the operator's to fix; the rest may pass. */
function startError(err: unknown, spec: ContainerRunSpec, step: string): ContainerRunError {
  const text = createRedactor(spec.redact)(engineMessage(err));
  if (/network/i.test(text) && (statusCode(err) === 404 || /not found|no such|unable to find/i.test(text))) {
    return new ContainerRunError(
      `network ${spec.network} does not exist: start the platform (its compose network) or fix network in connectors.yaml`,
      'config',
    );
  }
  return new ContainerRunError(`container engine: cannot ${step} the container: ${text}`, 'engine');
}

/** The dockerode implementation of {@link ContainerRunner}. */
export function createDockerRunner(deps: { docker: Docker; logger: Logger }): ContainerRunner {
  const { docker, logger } = deps;

  /**
   * Pull the image (with the connector's registry credentials when it has them). A failure is a
   * {@link ContainerRunError} whose message starts with `why`.
   */
  async function pullImage(spec: ContainerRunSpec, why: string): Promise<void> {
    spec.heartbeat({ phase: 'pulling', lines: 0 });
    // A pull can outlast the heartbeat timeout: keep heartbeating while it runs.
    const pulling = setInterval(() => spec.heartbeat({ phase: 'pulling', lines: 0 }), HEARTBEAT_EVERY_MS);
    const auth = spec.registryAuth
      ? {
          username: spec.registryAuth.username,
          password: spec.registryAuth.password,
          serveraddress: spec.registryAuth.server,
        }
      : undefined;
    try {
      const stream = await docker.pull(spec.image, auth ? { authconfig: auth } : {});
      await new Promise<void>((resolve, reject) => {
        docker.modem.followProgress(stream, (err: Error | null, output: { error?: string }[]) => {
          const failed = err ?? output.find((o) => o.error);
          if (failed)
            reject(failed instanceof Error ? failed : new Error(String((failed as { error: string }).error)));
          else resolve();
        });
      });
      await docker.getImage(spec.image).inspect();
    } catch (err) {
      throw new ContainerRunError(
        `${why}${auth ? ` (as ${auth.username} on ${auth.serveraddress})` : ''}: ${createRedactor(spec.redact)(engineMessage(err))}`,
        'image',
      );
    } finally {
      clearInterval(pulling);
    }
  }

  /**
   * A retry runs after Temporal gave up on the earlier attempt: its worker died or stopped
   * heartbeating, and nobody will remove its container. Remove it now rather than leave two
   * copies of the connector running against the platform.
   */
  async function removeEarlierAttempts(spec: ContainerRunSpec): Promise<void> {
    if (spec.attempt <= 1) return;
    const earlier = await docker.listContainers({
      all: true,
      filters: { label: [`${ContainerLabels.workflowId}=${spec.workflowId}`] },
    });
    for (const c of earlier) {
      if (Number(c.Labels[ContainerLabels.attempt]) >= spec.attempt) continue;
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch((err: unknown) => {
          if (statusCode(err) !== 404) throw err;
        });
      logger.warn(
        {
          connector: spec.connector,
          workflowId: spec.workflowId,
          attempt: spec.attempt,
          removed: c.Id.slice(0, 12),
          removedAttempt: c.Labels[ContainerLabels.attempt],
          state: c.State,
        },
        'removed the container an earlier attempt left behind',
      );
    }
  }

  /**
   * The `always` policy: pull before the run. When the pull fails and the engine has a copy, the
   * run goes on with that copy: the returned note says so (and a warning is logged); with no copy
   * the run fails.
   */
  async function pullFirst(spec: ContainerRunSpec): Promise<string | undefined> {
    try {
      await pullImage(spec, `image ${spec.image} could not be pulled`);
      return undefined;
    } catch (err) {
      if (!(err instanceof ContainerRunError)) throw err;
      const cached = await docker
        .getImage(spec.image)
        .inspect()
        .then(
          () => true,
          (e: unknown) => {
            if (statusCode(e) === 404) return false;
            throw startError(e, spec, 'inspect the image of');
          },
        );
      if (!cached)
        throw new ContainerRunError(`${err.message}; no cached copy of the image to run instead`, 'image');
      const note = `${err.message}; ran the cached copy instead`;
      logger.warn(
        { connector: spec.connector, workflowId: spec.workflowId, attempt: spec.attempt, image: spec.image },
        note,
      );
      return note;
    }
  }

  async function run(spec: ContainerRunSpec): Promise<ContainerRunResult> {
    if (spec.signal.aborted) throw spec.signal.reason;
    await removeEarlierAttempts(spec).catch((err: unknown) => {
      throw startError(err, spec, 'list earlier attempts of');
    });
    // A digest never changes: such an image is pulled only when missing, whatever the policy.
    const pullNote = spec.pull === 'always' && !isDigestImage(spec.image) ? await pullFirst(spec) : undefined;
    const redact = createRedactor(spec.redact);
    const started = Date.now();
    const deadline = new Date(started + spec.timeoutMs + REAP_GRACE_MS);
    const create = () =>
      docker.createContainer({
        Image: spec.image,
        Cmd: spec.args,
        Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
        Labels: {
          [ContainerLabels.connector]: spec.connector,
          [ContainerLabels.workflowId]: spec.workflowId,
          [ContainerLabels.attempt]: String(spec.attempt),
          [ContainerLabels.deadline]: deadline.toISOString(),
        },
        HostConfig: {
          Memory: spec.memoryMb * 1024 * 1024,
          NanoCpus: Math.round(spec.cpus * 1e9),
          PidsLimit: spec.pids,
          NetworkMode: spec.network,
          // A connector needs no privilege: no capability, and no way to gain one (setuid binaries).
          CapDrop: ['ALL'],
          SecurityOpt: ['no-new-privileges'],
        },
      });
    let container: Docker.Container;
    try {
      // Create first and pull only when the engine says the image is missing: the usual run
      // (image present) then costs one engine call instead of two.
      container = await create().catch(async (err: unknown) => {
        if (!isMissingImage(err)) throw err;
        await pullImage(spec, `image ${spec.image} is not present and cannot be pulled`);
        return create();
      });
    } catch (err) {
      if (err instanceof ContainerRunError) throw err;
      throw startError(err, spec, 'create');
    }

    const tail: string[] = pullNote ? [`[sv0] ${pullNote}`] : [];
    let lines = 0;
    const onLine = (stream: 'stdout' | 'stderr', raw: string) => {
      const line = capLine(redact(raw));
      lines += 1;
      tail.push(line);
      if (tail.length > LOG_TAIL_LINES) tail.shift();
      logger.info(
        { connector: spec.connector, workflowId: spec.workflowId, attempt: spec.attempt, stream },
        line,
      );
    };
    const heartbeat = setInterval(() => spec.heartbeat({ phase: 'running', lines }), HEARTBEAT_EVERY_MS);
    let timer: NodeJS.Timeout | undefined;
    let exitCode: number | undefined;
    let onAbort: (() => void) | undefined;
    try {
      // Attached before the start, as `docker run` does: nothing printed early is missed, and the
      // stream ends with the container (a follow of its logs ends about 150 ms later on Podman).
      const output = (await container
        .attach({ stream: true, stdout: true, stderr: true })
        .catch((err: unknown) => {
          throw startError(err, spec, 'attach to');
        })) as NodeJS.ReadableStream;
      const logsDone = splitLines(docker, output, onLine);
      await container.start().catch((err: unknown) => {
        throw startError(err, spec, 'start');
      });
      spec.heartbeat({ phase: 'running', lines });
      const outcome = await new Promise<'exited' | 'timeout' | 'aborted'>((resolve, reject) => {
        timer = setTimeout(() => resolve('timeout'), spec.timeoutMs);
        onAbort = () => resolve('aborted');
        spec.signal.addEventListener('abort', onAbort, { once: true });
        container.wait().then((status: { StatusCode?: number }) => {
          exitCode = status.StatusCode;
          resolve('exited');
        }, reject);
      });
      if (outcome !== 'exited') {
        await container.kill().catch(() => undefined);
        logger.warn(
          { connector: spec.connector, workflowId: spec.workflowId, outcome },
          `connector container killed (${outcome})`,
        );
      }
      // Give the log stream a moment to deliver the last lines after the exit.
      await Promise.race([logsDone, new Promise((r) => setTimeout(r, 2_000))]);
      if (outcome === 'aborted') throw spec.signal.reason ?? new Error('cancelled');
      // The wait answer carries the exit code; an engine that leaves it out is asked once more.
      if (outcome === 'exited') exitCode ??= (await container.inspect()).State.ExitCode;
      return {
        exitCode: outcome === 'timeout' ? -1 : (exitCode ?? -1),
        durationMs: Date.now() - started,
        timedOut: outcome === 'timeout',
        logTail: [...tail],
        ...(pullNote ? { pullFailed: pullNote } : {}),
      };
    } finally {
      clearInterval(heartbeat);
      if (timer) clearTimeout(timer);
      if (onAbort) spec.signal.removeEventListener('abort', onAbort);
      await container.remove({ force: true }).catch((err: unknown) => {
        if (statusCode(err) !== 404)
          logger.error(
            { connector: spec.connector, err: engineMessage(err) },
            'could not remove the connector container',
          );
      });
    }
  }

  async function reapOrphans(now: Date): Promise<string[]> {
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [ContainerLabels.connector] },
    });
    const removed: string[] = [];
    for (const c of containers) {
      const deadline = Date.parse(c.Labels[ContainerLabels.deadline] ?? '');
      // A container without a readable deadline is ours but unbounded: treat it as overdue.
      if (Number.isNaN(deadline) || deadline < now.getTime()) {
        try {
          await docker.getContainer(c.Id).remove({ force: true });
          removed.push(`${c.Labels[ContainerLabels.connector]}:${c.Id.slice(0, 12)}`);
        } catch (err) {
          if (statusCode(err) !== 404) throw err;
        }
      }
    }
    if (removed.length > 0) logger.warn({ removed }, 'removed orphaned connector containers');
    return removed;
  }

  return { run, reapOrphans };
}

/** Split a container's multiplexed output stream into stdout and stderr lines until it ends. */
async function splitLines(
  docker: Docker,
  stream: NodeJS.ReadableStream,
  onLine: (stream: 'stdout' | 'stderr', line: string) => void,
): Promise<void> {
  const splitter = (name: 'stdout' | 'stderr') => {
    const pass = new PassThrough();
    let buffered = '';
    // A line longer than MAX_BUFFERED_CHARS is handed on as it is so far (it is cut to
    // MAX_LINE_CHARS anyway) and the rest of it is dropped up to its end: memory stays bounded,
    // and no fragment of a secret that straddles the cut can start a line of its own.
    let dropping = false;
    pass.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const p of parts) {
        if (dropping) dropping = false;
        else onLine(name, p.replace(/\r$/, ''));
      }
      if (buffered.length > MAX_BUFFERED_CHARS) {
        if (!dropping) onLine(name, buffered);
        buffered = '';
        dropping = true;
      }
    });
    pass.on('end', () => {
      if (buffered && !dropping) onLine(name, buffered);
    });
    return pass;
  };
  const out = splitter('stdout');
  const err = splitter('stderr');
  docker.modem.demuxStream(stream, out, err);
  await new Promise<void>((resolve) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', () => resolve());
  });
  out.end();
  err.end();
}
