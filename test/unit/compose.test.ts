/**
 * The VM deployment's files as they are read. docker-compose.temporal.yml goes through
 * compose-check (compose-go, the Compose specification's reference reader, which `docker compose`
 * itself uses): it validates the file against the current specification and resolves what each
 * service runs. The checks here are about the project's intent: pins that match what the tests
 * run, health checks and restart policies, no secret in the file, the search attributes, and a
 * local production stack (scripts/prod-stack.ts) that cannot drift from the file.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { workerSettings } from '../../lib/config/worker';
import { SEARCH_ATTRIBUTE_TYPES } from '../../lib/names';
import {
  COMPOSE_FILE,
  durationSeconds,
  composeText as composeTextWith,
  localOverrides,
  MTLS_CERTIFICATES,
  planService,
  readComposeProject,
  type ComposeProject,
  type PlanContext,
} from '../../scripts/compose-project';
import { freeProductionPorts } from '../../scripts/prod-stack';
import { stack } from '../harness/stack';

const ROOT = path.resolve(__dirname, '../..');
const composeText = readFileSync(COMPOSE_FILE, 'utf8');
const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const SERVER_DIR = path.join(ROOT, 'deploy/temporal');
const serverConfig = readFileSync(path.join(SERVER_DIR, 'config/production.yaml'), 'utf8');
const LONG_RUNNING = ['postgresql', 'temporal', 'temporal-ui', 'worker'];
const ONE_SHOT = ['temporal-schema', 'temporal-admin'];
/** Services that run only when their profile is switched on. */
const OPT_IN = ['codec-server'];
const PLACEHOLDER_PASSWORD = 'compose-test-placeholder';

function tools() {
  return stack().tools;
}

function project(): ComposeProject {
  return readComposeProject(tools().production.composeCheck, { POSTGRES_PASSWORD: PLACEHOLDER_PASSWORD });
}

/** The version tools/temporal/go.mod builds a module at (the binaries the tests run). */
function builtVersion(module: string): string {
  const gomod = readFileSync(path.join(ROOT, 'tools/temporal/go.mod'), 'utf8');
  const m = new RegExp(`^\\s*${module.replace(/[./]/g, '\\$&')} v(\\S+)`, 'm').exec(gomod);
  if (!m) throw new Error(`tools/temporal/go.mod does not require ${module}`);
  return m[1]!;
}

/** The environment variables a file reads through the server's template function `env "NAME"`. */
function templateEnvReads(text: string): Set<string> {
  return new Set([...text.matchAll(/env "([A-Z0-9_]+)"/g)].map((m) => m[1]!));
}

describe('docker-compose.temporal.yml, read by compose-check', () => {
  it('is valid under the current Compose specification, and needs POSTGRES_PASSWORD from the environment', () => {
    const check = (env: Record<string, string>) =>
      spawnSync(tools().production.composeCheck, ['-f', COMPOSE_FILE], {
        env: { PATH: process.env.PATH, ...env },
        cwd: ROOT,
        encoding: 'utf8',
      });
    const ok = check({ POSTGRES_PASSWORD: PLACEHOLDER_PASSWORD });
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/valid \(7 services/);
    const missing = check({});
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/required variable POSTGRES_PASSWORD is missing a value/);
  });

  it('has PostgreSQL, the Temporal server, its schema and admin jobs, the Web UI and the worker', () => {
    expect(Object.keys(project().services).sort()).toEqual([...LONG_RUNNING, ...ONE_SHOT, ...OPT_IN].sort());
  });

  it('pins every image, at the versions the tests build and run', () => {
    const { services } = project();
    for (const [name, svc] of Object.entries(services)) {
      // The worker's image is built here; the codec server runs that same image.
      if (name === 'worker' || name === 'codec-server') continue;
      expect(svc.image, name).toMatch(/^[a-z0-9./-]+:[0-9][\w.-]*$/);
      expect(svc.image, name).not.toMatch(/auto-setup|:latest$/);
    }
    const server = builtVersion('go.temporal.io/server');
    expect(services.temporal!.image).toBe(`temporalio/server:${server}`);
    expect(services['temporal-schema']!.image).toMatch(new RegExp(`^temporalio/admin-tools:${server}-`));
    expect(services['temporal-admin']!.image).toBe(services['temporal-schema']!.image);
    expect(services['temporal-ui']!.image).toBe(
      `temporalio/ui:${builtVersion('github.com/temporalio/ui-server/v2')}`,
    );
    // The PostgreSQL major the tests start (Debian's) is the one the file pins.
    const local = spawnSync(path.join(tools().production.postgresBinDir, 'postgres'), ['--version'], {
      encoding: 'utf8',
    }).stdout;
    const localMajor = /\(PostgreSQL\) (\d+)/.exec(local)?.[1];
    expect(services.postgresql!.image).toMatch(new RegExp(`^postgres:${localMajor}\\.\\d+-bookworm$`));
    expect(services['codec-server']!.image).toBe(services.worker!.image);
  });

  it('sets up both schemas with the admin tools before the server starts', () => {
    const { services } = project();
    const script = services['temporal-schema']!.command!.join('\n');
    for (const db of ['temporal', 'temporal_visibility']) {
      expect(script).toMatch(new RegExp(`--db ${db} setup-schema`));
      expect(script).toMatch(new RegExp(`--db ${db} update-schema --schema-name postgresql/v12/`));
    }
    expect(services.temporal!.depends_on!['temporal-schema']!.condition).toBe(
      'service_completed_successfully',
    );
    expect(services['temporal-schema']!.depends_on!.postgresql!.condition).toBe('service_healthy');
  });

  it('registers exactly the search attributes of lib/names.ts, with their types, before the worker starts', () => {
    const { services } = project();
    const script = services['temporal-admin']!.command!.join('\n');
    const registered = Object.fromEntries(
      [...script.matchAll(/\b(Sv0\w+)=(\w+)/g)].map((m) => [m[1]!, m[2]!] as const),
    );
    expect(registered).toEqual(SEARCH_ATTRIBUTE_TYPES);
    expect(services.worker!.depends_on!['temporal-admin']!.condition).toBe('service_completed_successfully');
  });

  it('gives every long-running service a health check and a restart policy', () => {
    const { services } = project();
    for (const name of LONG_RUNNING) {
      const svc = services[name]!;
      expect(svc.healthcheck?.test, name).toBeDefined();
      expect(svc.restart, name).toMatch(/^(unless-stopped|always)$/);
    }
    for (const name of ONE_SHOT) expect(services[name]!.restart, name).toBe('on-failure');
    expect(services['temporal-ui']!.depends_on!.temporal!.condition).toBe('service_healthy');
  });

  it('keeps PostgreSQL data in a named volume', () => {
    const { services } = project();
    const data = services.postgresql!.volumes!.find((v) => v.target === '/var/lib/postgresql/data');
    expect(data?.type).toBe('volume');
  });

  it('puts the worker on the platform network sv0-platform_default, which the platform project owns', () => {
    const raw = parse(composeText) as { networks: Record<string, { name?: string; external?: boolean }> };
    const entry = Object.entries(raw.networks).find(([, n]) => n?.name === 'sv0-platform_default');
    expect(entry?.[1].external).toBe(true);
    const networks = Object.keys((project().services.worker as { networks?: object }).networks ?? {});
    expect(networks.sort()).toEqual([entry![0], 'temporal'].sort());
  });

  it('ships platform.url as the platform API is named on that network, not a loopback address', () => {
    const shipped = [
      (
        parse(readFileSync(path.join(ROOT, 'config/connectors.yaml'), 'utf8')) as {
          platform: { url: string };
        }
      ).platform.url,
      (parse(readFileSync(path.join(ROOT, 'config/worker.yaml'), 'utf8')) as { platform: { url: string } })
        .platform.url,
      workerSettings().platform.url,
    ];
    // `api` is the platform compose project's API service; inside the worker's container 127.0.0.1
    // would be the worker itself.
    expect(shipped).toEqual(['http://api:3000', 'http://api:3000', 'http://api:3000']);
  });

  it('gives the worker the Docker socket, its files read-only, its token as a secret file and a grace time', () => {
    const { services, secrets } = project();
    const worker = services.worker!;
    const volume = (target: string) => worker.volumes!.find((v) => v.target === target);
    expect(volume('/var/run/docker.sock')?.source).toBe('/var/run/docker.sock');
    expect(volume('/etc/sv0')?.read_only).toBe(true);
    expect(worker.environment!.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(worker.environment!.DOCKER_HOST).toBe('unix:///var/run/docker.sock');
    // The long env_file syntax stays, whatever older readers make of it.
    const raw = parse(composeText) as { services: { worker: { env_file: unknown } } };
    expect(raw.services.worker.env_file).toEqual([{ path: '/etc/sv0/worker.env', required: true }]);
    // The 1Password token reaches the worker as a file, never through its environment.
    expect(worker.secrets?.map((x) => x.source)).toEqual(['op_service_account_token']);
    expect(secrets?.op_service_account_token?.file).toBe('/etc/sv0/op-token');
    // compose-go resolves where the secret is mounted: the variable points exactly there.
    expect(worker.environment!.OP_SERVICE_ACCOUNT_TOKEN_FILE).toBe(worker.secrets![0]!.target);
    expect(worker.environment!.OP_SERVICE_ACCOUNT_TOKEN).toBeUndefined();
    expect(
      durationSeconds((worker as { stop_grace_period?: string }).stop_grace_period ?? '0s'),
    ).toBeGreaterThan(durationSeconds(worker.environment!.SV0_SHUTDOWN_GRACE!));
  });

  it('explains the Docker socket risk and how to limit it, next to the mount', () => {
    const around = composeText.slice(
      composeText.indexOf('SECURITY'),
      composeText.indexOf('- /var/run/docker.sock'),
    );
    expect(around).toMatch(/root/);
    expect(around).toMatch(/socket proxy/i);
  });

  it('holds no secret values: passwords come from the environment', () => {
    const resolved = project();
    expect(resolved.services.postgresql!.environment!.POSTGRES_PASSWORD).toBe(PLACEHOLDER_PASSWORD);
    expect(composeText).not.toMatch(/ops_[A-Za-z0-9]{8,}|AGE-SECRET-KEY-1|AKIA[0-9A-Z]{16}/);
  });

  it('publishes Temporal and the UI on the loopback interface only', () => {
    const { services } = project();
    const published = (name: string) =>
      ((services[name] as { ports?: { host_ip?: string }[] }).ports ?? []).map((p) => p.host_ip);
    for (const name of ['temporal', 'temporal-ui']) {
      expect(published(name).length, name).toBeGreaterThan(0);
      for (const ip of published(name)) expect(ip, name).toBe('127.0.0.1');
    }
    for (const name of ['postgresql', 'worker']) expect(published(name), name).toEqual([]);
  });

  it('does not let anyone start workflows from the Web UI', () => {
    expect(project().services['temporal-ui']!.environment!.TEMPORAL_START_WORKFLOW_DISABLED).toBe('true');
  });
});

describe('the Temporal server configuration (deploy/temporal) and the local production stack', () => {
  async function localPlan(name: string) {
    const ports = await freeProductionPorts();
    const ctx: PlanContext = {
      imageDirs: { '/home/ui-server': tools().production.uiServerDir },
      path: [],
      home: '/nonexistent',
      overrides: localOverrides(ports),
    };
    return { ports, plan: planService(project(), name, ctx) };
  }

  /** `temporal-server render-config` with an environment: the configuration the server would run. */
  function renderConfig(env: Record<string, string>): Record<string, unknown> {
    const result = spawnSync(
      tools().production.temporalServer,
      ['--env', 'production', '--allow-no-auth', 'render-config'],
      { cwd: SERVER_DIR, env: { PATH: process.env.PATH, HOSTNAME: 'localhost', ...env }, encoding: 'utf8' },
    );
    expect(result.status, result.stderr).toBe(0);
    return parse(result.stdout) as Record<string, unknown>;
  }

  it('reads every variable the compose file sets for the server (nothing set there is ignored)', () => {
    const env = project().services.temporal!.environment!;
    const read = templateEnvReads(serverConfig);
    // TEMPORAL_ADDRESS is the health check's (the temporal CLI's), not the server's.
    const unread = Object.keys(env).filter((key) => !read.has(key) && key !== 'TEMPORAL_ADDRESS');
    expect(unread).toEqual([]);
    expect(project().services.temporal!.healthcheck!.test).toEqual([
      'CMD',
      'temporal',
      'operator',
      'cluster',
      'health',
    ]);
  });

  it('differs from the file locally only in addresses and ports, each read by the service', async () => {
    const { services } = project();
    const overrides = localOverrides(await freeProductionPorts());
    const uiTemplate = readFileSync(path.join(tools().production.uiServerDir, 'config/docker.yaml'), 'utf8');
    const readBy: Record<string, Set<string>> = {
      temporal: templateEnvReads(serverConfig),
      'temporal-ui': templateEnvReads(uiTemplate),
    };
    for (const [name, keys] of Object.entries(overrides)) {
      for (const key of Object.keys(keys)) {
        const known =
          key in (services[name]!.environment ?? {}) ||
          readBy[name]?.has(key) ||
          // pg_isready, the PostgreSQL health check, takes libpq's PGHOST and PGPORT.
          (name === 'postgresql' && ['PGHOST', 'PGPORT'].includes(key));
        expect(known, `${name}: ${key}`).toBe(true);
        expect(`${keys[key]}`, `${name}: ${key}`).toMatch(/^(127\.0\.0\.1(:\d+)?|\d+)$/);
      }
    }
  });

  it('renders the same server configuration from the compose environment and the local one, but for addresses', async () => {
    const { ports, plan } = await localPlan('temporal');
    const composeEnv = project().services.temporal!.environment as Record<string, string>;
    const inCompose = renderConfig(composeEnv);
    const local = renderConfig(plan.env);
    // Addresses and ports are the only differences; blank them in both and compare the rest.
    const blank = (config: Record<string, unknown>) =>
      JSON.parse(
        JSON.stringify(config, (key, value: unknown) =>
          [
            'connectAddr',
            'grpcPort',
            'httpPort',
            'membershipPort',
            'bindOnIP',
            'broadcastAddress',
            'rpcAddress',
            'httpAddress',
          ].includes(key)
            ? '<address>'
            : value,
        ),
      ) as unknown;
    expect(blank(local)).toEqual(blank(inCompose));
    const persistence = (c: Record<string, unknown>) =>
      c.persistence as {
        visibilityStore: string;
        datastores: Record<string, { sql: Record<string, unknown> }>;
      };
    const stores = persistence(inCompose).datastores;
    expect(stores.default!.sql).toMatchObject({
      pluginName: 'postgres12',
      databaseName: 'temporal',
      connectAddr: 'postgresql:5432',
    });
    expect(stores[persistence(inCompose).visibilityStore]!.sql).toMatchObject({
      pluginName: 'postgres12',
      databaseName: 'temporal_visibility',
      connectAddr: 'postgresql:5432',
    });
    expect(persistence(local).datastores.default!.sql.connectAddr).toBe(`127.0.0.1:${ports.postgres}`);
    const services = (c: Record<string, unknown>) =>
      Object.values(c.services as Record<string, { rpc: { membershipPort: number; grpcPort: number } }>);
    for (const config of [inCompose, local])
      for (const { rpc } of services(config)) expect(rpc.membershipPort).toBeLessThan(32768);
    expect(services(local).map((s) => s.rpc.grpcPort)).toContain(ports.frontend);
  });

  it('runs the server, the UI server and the jobs by the file commands, in the folders the file names', async () => {
    const { services } = project();
    const temporal = (await localPlan('temporal')).plan;
    expect(temporal.argv).toEqual([...services.temporal!.entrypoint!]);
    expect(temporal.cwd).toBe(SERVER_DIR);
    expect(existsSync(path.join(temporal.cwd, 'config/production.yaml'))).toBe(true);
    const ui = (await localPlan('temporal-ui')).plan;
    expect(ui.argv).toEqual(services['temporal-ui']!.entrypoint);
    expect(existsSync(path.join(ui.cwd, ui.argv[0]!))).toBe(true);
    expect(existsSync(path.join(ui.cwd, 'config/docker.yaml'))).toBe(true);
    for (const job of ONE_SHOT) {
      const { plan } = await localPlan(job);
      expect(plan.argv).toEqual([...services[job]!.entrypoint!, ...services[job]!.command!]);
      expect(plan.retryOnFailure).toBe(true);
    }
  });

  it('has a dynamic configuration the server accepts', () => {
    const result = spawnSync(
      tools().production.temporalServer,
      ['validate-dynamic-config', 'config/dynamicconfig/production.yaml'],
      { cwd: SERVER_DIR, encoding: 'utf8' },
    );
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout + result.stderr).not.toMatch(/error|unknown/i);
  });
});

describe('docker-compose.temporal.yml with mutual TLS switched on (its "# mTLS: " prefixes removed)', () => {
  const tlsKeys = (env: Record<string, string | null> | undefined) =>
    Object.keys(env ?? {}).filter((key) => key.startsWith('TEMPORAL_TLS_'));
  const switchedOn = () =>
    readComposeProject(
      tools().production.composeCheck,
      { POSTGRES_PASSWORD: PLACEHOLDER_PASSWORD },
      { mtls: true },
    );
  /** The names Temporal's environment configuration gives a client (the `temporal` CLI, the worker). */
  const CLIENT = [
    'TEMPORAL_TLS_CLIENT_CERT_PATH',
    'TEMPORAL_TLS_CLIENT_KEY_PATH',
    'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
    'TEMPORAL_TLS_SERVER_NAME',
  ];

  it('sets no TLS variable while it is off, and stays valid when it is on', () => {
    for (const [name, service] of Object.entries(project().services))
      expect(tlsKeys(service.environment), name).toEqual([]);
    // The command the file and the README give does what the local stack does.
    const text = readFileSync(COMPOSE_FILE, 'utf8');
    const sed = "sed -i 's/# mTLS[:] //' docker-compose.temporal.yml";
    expect(text).toContain(sed);
    expect(readFileSync(path.join(ROOT, 'README.md'), 'utf8')).toContain(sed);
    expect(text.replace(/# mTLS[:] /g, '')).toBe(composeTextWith({ mtls: true }));
    const { services } = switchedOn();
    expect(Object.keys(services).sort()).toEqual([...LONG_RUNNING, ...ONE_SHOT, ...OPT_IN].sort());
  });

  it('gives the server, the namespace job, the UI and the worker their certificates from one mounted folder', () => {
    const { services } = switchedOn();
    for (const name of ['temporal', 'temporal-admin', 'temporal-ui', 'worker']) {
      const env = services[name]!.environment!;
      const paths = tlsKeys(env)
        .map((key) => env[key]!)
        .filter((value) => value.startsWith('/'));
      expect(paths.length, name).toBeGreaterThan(0);
      for (const file of paths) expect(path.dirname(file), `${name}: ${file}`).toBe(MTLS_CERTIFICATES);
      // Mounted read-only: as its own folder, or within the worker's /etc/sv0.
      const mount = services[name]!.volumes!.find(
        (v) =>
          v.type === 'bind' &&
          (MTLS_CERTIFICATES === v.target || MTLS_CERTIFICATES.startsWith(`${v.target}/`)),
      );
      expect(mount, name).toMatchObject({ read_only: true });
    }
    for (const name of ['temporal-admin', 'worker'])
      expect(tlsKeys(services[name]!.environment).sort()).toEqual(CLIENT);
  });

  it('sets only variables the server, its health check and the UI server read', () => {
    const { services } = switchedOn();
    const serverReads = templateEnvReads(serverConfig);
    // The health check's `temporal` CLI reads the client names; the server the rest.
    for (const key of tlsKeys(services.temporal!.environment))
      expect(serverReads.has(key) || CLIENT.includes(key), `temporal: ${key}`).toBe(true);
    expect(tlsKeys(services.temporal!.environment)).toEqual(expect.arrayContaining(CLIENT));
    const uiReads = templateEnvReads(
      readFileSync(path.join(tools().production.uiServerDir, 'config/docker.yaml'), 'utf8'),
    );
    for (const key of tlsKeys(services['temporal-ui']!.environment))
      expect(uiReads.has(key), `temporal-ui: ${key}`).toBe(true);
  });

  it('runs locally with the certificates of a folder of its own, and the server renders mutual TLS', async () => {
    const ctx: PlanContext = {
      imageDirs: { '/home/ui-server': tools().production.uiServerDir },
      path: [],
      home: '/nonexistent',
      overrides: localOverrides(await freeProductionPorts()),
      mounts: { [MTLS_CERTIFICATES]: '/tmp/sv0-test-certificates' },
    };
    const temporal = planService(switchedOn(), 'temporal', ctx);
    expect(temporal.env.TEMPORAL_TLS_SERVER_CERT).toBe('/tmp/sv0-test-certificates/server.pem');
    expect(temporal.env.TEMPORAL_TLS_CLIENT_KEY_PATH).toBe('/tmp/sv0-test-certificates/server.key');
    expect(planService(switchedOn(), 'temporal-ui', ctx).env.TEMPORAL_TLS_CA).toBe(
      '/tmp/sv0-test-certificates/ca.pem',
    );
    const result = spawnSync(
      tools().production.temporalServer,
      ['--env', 'production', '--allow-no-auth', 'render-config'],
      {
        cwd: SERVER_DIR,
        env: { PATH: process.env.PATH, HOSTNAME: 'localhost', ...temporal.env },
        encoding: 'utf8',
      },
    );
    expect(result.status, result.stderr).toBe(0);
    const tls = (
      parse(result.stdout) as { global: { tls: Record<string, { server: Record<string, unknown> }> } }
    ).global.tls;
    for (const group of ['frontend', 'internode'])
      expect(tls[group]!.server).toMatchObject({
        certFile: '/tmp/sv0-test-certificates/server.pem',
        requireClientAuth: true,
      });
  });
});

describe('Dockerfile', () => {
  const stages = [...dockerfile.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)];

  it('is multi-stage and runs as a non-root user', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    const user = [...runtime.matchAll(/^USER\s+(\S+)/gm)].pop()?.[1];
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
  });

  it('prebuilds the workflow bundle where the compiled worker looks for it', () => {
    expect(dockerfile).toMatch(/scripts\/build-bundle\.ts dist\/workflow-bundle\.js/);
    expect(dockerfile).toMatch(/CMD \["node", "dist\/workers\/main\.js"\]/);
    // workers/main.ts resolves the bundle next to its compiled folder: dist/workers/../workflow-bundle.js.
    expect(readFileSync(path.join(ROOT, 'workers', 'main.ts'), 'utf8')).toMatch(
      /path\.resolve\(__dirname, '\.\.', 'workflow-bundle\.js'\)/,
    );
    // bin/sv0.js runs the compiled CLI from dist/clients/cli.js.
    expect(readFileSync(path.join(ROOT, 'bin', 'sv0.js'), 'utf8')).toContain("'dist', 'clients', 'cli.js'");
  });

  it('copies only paths that exist, and the runtime stage installs production dependencies only', () => {
    for (const m of dockerfile.matchAll(/^COPY\s+(?!--from)(.+)$/gm)) {
      const sources = m[1]!.trim().split(/\s+/).slice(0, -1);
      for (const src of sources) expect(existsSync(path.join(ROOT, src)), src).toBe(true);
    }
    expect(dockerfile).toMatch(/^FROM modules AS deps\nRUN npm prune --omit=dev /m);
    expect(dockerfile).toMatch(/^COPY --from=deps \/app\/node_modules node_modules$/m);
    expect(readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')).toMatch(/^node_modules$/m);
  });
});
