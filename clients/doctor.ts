/**
 * `sv0 doctor`: check each dependency the way the worker and the CLI will use it, and say how to
 * fix what fails. Checks run in parallel, each with its own time limit, so one dead dependency
 * does not hide the state of the others.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { Connection } from '@temporalio/client';
import Docker from 'dockerode';
import { configuredEndpoint, defaultAwsConfig, isLocalAwsEndpoint } from '../lib/runtime/aws';
import { type ConnectorsConfig } from '../lib/config/connectors';
import { loadConnectorsConfig } from '../lib/runtime/config';
import { checkConnectorsForWorker } from '../lib/runtime/worker-settings';
import { ConfigError } from '../lib/config/validate';
import { networkCause } from '../activities/http';
import { errorMessage } from './errors';
import { registerCommand, searchAttributeStatus } from './search-attributes';
import { resolveTemporalOptions, type TemporalOptions } from '../lib/runtime/temporal';

/** `ok`; `warn` (works, but something is off); `fail` (broken: the exit code says how). */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skipped';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  /** What was found (never a secret). */
  detail: string;
  /** What to do about a warning or failure. */
  fix?: string;
  /** A failed check whose dependency could not be reached: the command exits 3. */
  unreachable?: boolean;
}

export interface DoctorInput {
  temporal: TemporalOptions;
  configDir: string;
  /**
   * The environment of the secret checks. The AWS and container engine checks read the process
   * environment, as the AWS SDK and dockerode resolve their endpoints and credentials from it
   * themselves (the worker does the same).
   */
  env?: NodeJS.ProcessEnv;
  /** Per-check limit. @default 8000 ms */
  timeoutMs?: number;
}

/** The AWS regions the RegionLock SCP of config/org.yaml allows. */
const ALLOWED_REGIONS = ['us-east-1', 'us-west-2'];

function timeout<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000}s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const message = (err: unknown) => errorMessage(err).split('\n')[0]!;

/** Temporal reachable, namespace present, search attributes registered with the right types. */
async function checkTemporal(input: DoctorInput, ms: number): Promise<CheckResult[]> {
  const { connection: opts, namespace } = resolveTemporalOptions(input.temporal);
  const where = `${opts.address} (namespace ${namespace}${opts.tls || opts.apiKey ? ', TLS' : ''})`;
  let connection: Connection;
  try {
    connection = await timeout(
      ms,
      'Temporal',
      Connection.connect({
        address: opts.address,
        tls: opts.tls,
        apiKey: opts.apiKey,
        metadata: opts.metadata,
        connectTimeout: ms,
      }),
    );
    await timeout(ms, 'Temporal', connection.workflowService.getSystemInfo({}));
  } catch (err) {
    return [
      {
        name: 'temporal',
        status: 'fail',
        unreachable: true,
        detail: `cannot reach ${where}: ${message(err)}`,
        fix: 'start the local stack with `npm run dev`, or point at your server with --address / TEMPORAL_ADDRESS (Temporal Cloud: also TEMPORAL_NAMESPACE and TEMPORAL_API_KEY or --tls-cert-path/--tls-key-path)',
      },
      { name: 'search attributes', status: 'skipped', detail: 'Temporal is not reachable' },
    ];
  }
  try {
    try {
      await timeout(ms, 'Temporal', connection.workflowService.describeNamespace({ namespace }));
    } catch (err) {
      const notFound = /not found|NOT_FOUND/i.test(message(err));
      return [
        {
          name: 'temporal',
          status: 'fail',
          unreachable: !notFound,
          detail: notFound
            ? `${opts.address} is up but has no namespace "${namespace}"`
            : `${where}: ${message(err)}`,
          fix: notFound
            ? `create it: \`temporal operator namespace create --namespace ${namespace}\`, or pass --namespace / TEMPORAL_NAMESPACE`
            : 'check the API key or client certificate, and that the namespace is yours',
        },
        { name: 'search attributes', status: 'skipped', detail: 'no namespace' },
      ];
    }
    const temporal: CheckResult = {
      name: 'temporal',
      status: 'ok',
      detail: `${where} reachable, namespace present`,
    };
    try {
      const sa = await timeout(ms, 'Temporal', searchAttributeStatus(connection, namespace));
      if (sa.missing.length === 0 && sa.wrongType.length === 0) {
        return [
          temporal,
          {
            name: 'search attributes',
            status: 'ok',
            detail: `${sa.present.length} registered: ${sa.present.join(', ')}`,
          },
        ];
      }
      const problems = [
        ...(sa.missing.length ? [`missing ${sa.missing.join(', ')}`] : []),
        ...sa.wrongType.map((w) => `${w.name} is ${w.actual}, needs ${w.expected}`),
      ];
      const fix = sa.wrongType.length
        ? `a search attribute's type cannot change: remove ${sa.wrongType.map((w) => w.name).join(', ')} (\`temporal operator search-attribute remove\`) and run \`sv0 up\``
        : `run \`sv0 up\` (registers them where the server allows), or: ${sa.missing.map((n) => registerCommand(n, namespace)).join('; ')}; on Temporal Cloud add them in the namespace's settings or with \`tcld namespace search-attributes add\``;
      return [temporal, { name: 'search attributes', status: 'fail', detail: problems.join('; '), fix }];
    } catch (err) {
      return [
        temporal,
        {
          name: 'search attributes',
          status: 'warn',
          detail: `cannot list them here: ${message(err)}`,
          fix: 'Temporal Cloud lists them in the namespace settings; check that Sv0* attributes are there',
        },
      ];
    }
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/**
 * AWS credentials, region and endpoint as the SDK resolves them (AWS_PROFILE, AWS_REGION,
 * AWS_ENDPOINT_URL and the profile's settings), and the account they reach.
 */
async function checkAws(input: DoctorInput, ms: number): Promise<CheckResult> {
  const sts = new STSClient({ ...defaultAwsConfig(), maxAttempts: 1 });
  const endpoint = await configuredEndpoint(sts);
  const target = endpoint
    ? `${endpoint}${(await isLocalAwsEndpoint(sts)) ? ' (local stand-in)' : ''}`
    : 'AWS';
  try {
    const region = await sts.config.region();
    const who = await timeout(ms, 'STS', sts.send(new GetCallerIdentityCommand({})));
    const outside = !ALLOWED_REGIONS.includes(region);
    return {
      name: 'aws',
      status: outside ? 'warn' : 'ok',
      detail: `${target}: account ${who.Account} as ${who.Arn}; region ${region}`,
      ...(outside
        ? {
            fix: `the org's RegionLock SCP allows only ${ALLOWED_REGIONS.join(' and ')}: set AWS_REGION or the profile's region`,
          }
        : {}),
    };
  } catch (err) {
    const text = message(err);
    const noRegion = /region is missing/i.test(text);
    const noCredentials =
      /credential|Could not load|expired|ExpiredToken|InvalidClientTokenId|SignatureDoesNotMatch/i.test(text);
    return {
      name: 'aws',
      status: 'fail',
      unreachable: !noCredentials && !noRegion,
      detail: `${target}: GetCallerIdentity failed: ${text}`,
      fix: noRegion
        ? `set AWS_REGION (or the profile's region) to ${ALLOWED_REGIONS.join(' or ')}`
        : noCredentials
          ? 'give the SDK credentials: AWS_PROFILE (after `aws sso login` or `assume <profile>` with granted), or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; for the local stack use `npm run dev`'
          : endpoint
            ? `nothing answers at ${endpoint}: start moto (\`npm run dev\`) or unset AWS_ENDPOINT_URL for real AWS`
            : 'check the network path to AWS STS and AWS_REGION',
    };
  }
}

/**
 * Network modes every engine has without a network of that name: Docker lists `host` and `none`,
 * Podman lists neither, and both run a container in them.
 */
const BUILT_IN_NETWORK_MODES = new Set(['host', 'none']);

/** The container engine the connector runs use (DOCKER_HOST), and the networks connectors join. */
async function checkDocker(ms: number, connectors?: ConnectorsConfig): Promise<CheckResult> {
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

/**
 * The platform API the health check asks (`GET {platform.url}{syncsPath}?limit=1`), from here: run
 * where the worker runs, so that names such as `api` resolve as they do for it. The token is sent
 * when it is an `env:` reference set here; other references are the worker's to resolve, and the
 * API's 401 without a token still shows that it is there.
 */
async function checkPlatform(
  ms: number,
  env: NodeJS.ProcessEnv,
  connectors?: ConnectorsConfig,
): Promise<CheckResult> {
  const name = 'platform api';
  if (!connectors) return { name, status: 'skipped', detail: 'connectors.yaml did not load' };
  const { platform } = connectors;
  const url = new URL(platform.syncsPath, platform.url);
  url.searchParams.set('limit', '1');
  const where = `${url.origin}${url.pathname}`;
  const token = platform.tokenRef.startsWith('env:') ? env[platform.tokenRef.slice(4)] : undefined;
  // Only a value fetch accepts in a header: its refusal would quote the value.
  const sent = token !== undefined && /^[\x21-\x7e]+$/.test(token);
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { accept: 'application/json', ...(sent ? { authorization: `Bearer ${token}` } : {}) },
      signal: AbortSignal.timeout(ms),
    });
  } catch (err) {
    return {
      name,
      status: 'fail',
      unreachable: true,
      detail: `${where}: the request failed (${networkCause(err)})`,
      fix: `connector-health asks this API (platform.url in connectors.yaml): start the platform's compose project (its api service on the sv0-platform_default network) or correct platform.url; a compose service name such as api resolves only on that network, so run this check where the worker runs (\`docker compose -f docker-compose.temporal.yml exec worker sv0 doctor\`)`,
    };
  }
  await res.body?.cancel().catch(() => undefined);
  if (res.status === 401 || res.status === 403) {
    return sent
      ? {
          name,
          status: 'fail',
          detail: `${where}: HTTP ${res.status}, the token (${platform.tokenRef}) was refused`,
          fix: 'give the worker the platform token the API accepts (platform.tokenRef in connectors.yaml)',
        }
      : {
          name,
          status: 'ok',
          detail: `${where} answers (HTTP ${res.status} without a token; the worker sends ${platform.tokenRef})`,
        };
  }
  if (!res.ok) {
    return {
      name,
      status: 'warn',
      detail: `${where}: HTTP ${res.status}`,
      fix: 'check platform.url and platform.syncsPath in connectors.yaml against the platform API',
    };
  }
  return {
    name,
    status: 'ok',
    detail: `${where} answers (HTTP ${res.status}${sent ? ', token accepted' : ''})`,
  };
}

/** Where the connectors' secrets need 1Password or a SOPS age key (only those checks then run). */
function secretNeeds(config: ConnectorsConfig): {
  onePassword: string[];
  sops: { connector: string }[];
} {
  const onePassword = new Set<string>();
  const sops: { connector: string }[] = [];
  const isOp = (ref: string) => ref.startsWith('op://');
  if (isOp(config.platform.tokenRef)) onePassword.add('platform.tokenRef (connector-health)');
  for (const c of config.connectors.filter((x) => x.enabled)) {
    if (c.registryAuth && isOp(c.registryAuth.passwordRef)) onePassword.add(`${c.name} (registry login)`);
    for (const s of c.secrets) {
      if (s.type === 'refs' && Object.values(s.vars).some(isOp)) onePassword.add(c.name);
      if (s.type === 'sops') sops.push({ connector: c.name });
      if (s.type === 'env-file' && envFileHasOpRefs(s.path)) onePassword.add(c.name);
    }
  }
  return { onePassword: [...onePassword], sops };
}

/** An env file holding `op://` values needs 1Password; an unreadable file is judged by the worker. */
function envFileHasOpRefs(file: string): boolean {
  try {
    return /^[A-Za-z_][A-Za-z0-9_]*=["']?op:\/\//m.test(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
}

function checkOnePassword(env: NodeJS.ProcessEnv, users: string[]): CheckResult {
  if (users.length === 0)
    return { name: '1password', status: 'skipped', detail: 'no enabled connector uses op:// references' };
  const token = env.OP_SERVICE_ACCOUNT_TOKEN;
  if (!token) {
    return {
      name: '1password',
      status: 'fail',
      detail: `OP_SERVICE_ACCOUNT_TOKEN is not set; needed by ${users.join(', ')}`,
      fix: 'give the worker a 1Password service account token with read access to the vault: the token alone in /etc/sv0/op-token (chown 1000, chmod 600), which the compose file mounts as a secret for OP_SERVICE_ACCOUNT_TOKEN_FILE; or OP_SERVICE_ACCOUNT_TOKEN itself',
    };
  }
  if (!token.startsWith('ops_')) {
    return {
      name: '1password',
      status: 'warn',
      detail: 'OP_SERVICE_ACCOUNT_TOKEN is set but does not look like a service account token (ops_...)',
      fix: 'copy the token of a 1Password service account (Developer > Service Accounts)',
    };
  }
  return {
    name: '1password',
    status: 'ok',
    detail: `OP_SERVICE_ACCOUNT_TOKEN set; used by ${users.join(', ')}`,
  };
}

function checkSops(env: NodeJS.ProcessEnv, users: { connector: string }[]): CheckResult {
  if (users.length === 0)
    return { name: 'sops age key', status: 'skipped', detail: 'no enabled connector uses a SOPS file' };
  const problem = ageKeyProblem(env);
  const names = users.map((u) => u.connector).join(', ');
  if (!problem) return { name: 'sops age key', status: 'ok', detail: `key readable for ${names}` };
  return {
    name: 'sops age key',
    status: 'fail',
    detail: `${problem}; needed by ${names}`,
    fix: "point SOPS_AGE_KEY_FILE at the age key made by `age-keygen -o /etc/sv0/age-key.txt`, owned by the worker's user, chmod 600 (or give the key itself in SOPS_AGE_KEY, never both)",
  };
}

/** What is wrong with the worker's age key: exactly one of SOPS_AGE_KEY_FILE or SOPS_AGE_KEY. */
function ageKeyProblem(env: NodeJS.ProcessEnv): string | undefined {
  const file = env.SOPS_AGE_KEY_FILE;
  if (file && env.SOPS_AGE_KEY)
    return 'SOPS_AGE_KEY_FILE and SOPS_AGE_KEY are both set (the worker refuses to start)';
  if (env.SOPS_AGE_KEY)
    return /^AGE-SECRET-KEY-1/m.test(env.SOPS_AGE_KEY)
      ? undefined
      : 'SOPS_AGE_KEY holds no AGE-SECRET-KEY line';
  if (!file) return 'neither SOPS_AGE_KEY_FILE nor SOPS_AGE_KEY is set';
  try {
    accessSync(file, constants.R_OK);
    if (!/^AGE-SECRET-KEY-1/m.test(readFileSync(file, 'utf8'))) return `${file} holds no AGE-SECRET-KEY line`;
    if ((statSync(file).mode & 0o077) !== 0) return `${file} is readable by others (chmod 600 it)`;
    return undefined;
  } catch (err) {
    return `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? message(err)})`;
  }
}

/** Run every check. */
export async function runDoctor(input: DoctorInput): Promise<CheckResult[]> {
  const env = input.env ?? process.env;
  const ms = input.timeoutMs ?? 8000;
  let connectors: ConnectorsConfig | undefined;
  let configCheck: CheckResult;
  try {
    connectors = loadConnectorsConfig(input.configDir);
    checkConnectorsForWorker(input.configDir, connectors, env);
    configCheck = {
      name: 'config',
      status: 'ok',
      detail: `${input.configDir}: connectors.yaml valid and allowed by the worker's settings (${connectors.connectors.length} connectors)`,
    };
  } catch (err) {
    configCheck = {
      name: 'config',
      status: err instanceof ConfigError ? 'fail' : 'warn',
      detail: message(err),
      fix: 'fix the file named above (a refusal by the worker names the setting to add to worker.yaml), or pass --config-dir / SV0_CONFIG_DIR',
    };
  }
  const needs = connectors ? secretNeeds(connectors) : { onePassword: [], sops: [] };
  const [temporal, aws, docker, platform] = await Promise.all([
    checkTemporal(input, ms),
    checkAws(input, ms),
    checkDocker(ms, connectors),
    checkPlatform(ms, env, connectors),
  ]);
  return [
    ...temporal,
    aws,
    docker,
    platform,
    configCheck,
    checkOnePassword(env, needs.onePassword),
    checkSops(env, needs.sops),
  ];
}

/** 3 when a dependency is unreachable, 1 when something else failed, else 0. */
export function doctorExitCode(results: readonly CheckResult[]): 0 | 1 | 3 {
  if (results.some((r) => r.status === 'fail' && r.unreachable)) return 3;
  if (results.some((r) => r.status === 'fail')) return 1;
  return 0;
}
