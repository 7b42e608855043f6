/**
 * The VM deployment's files, checked by structure: the images are not built or run in CI (no
 * registry is reachable there), so these checks are what stands between an edit and a broken VM.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { SEARCH_ATTRIBUTE_TYPES } from '../../lib/names';

const ROOT = path.resolve(__dirname, '../..');
const composeText = readFileSync(path.join(ROOT, 'docker-compose.temporal.yml'), 'utf8');
const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  restart?: string;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] | string; interval?: string; retries?: number };
  volumes?: string[];
  networks?: string[];
  environment?: Record<string, string>;
  env_file?: { path: string; required: boolean }[];
  command?: string[];
  stop_grace_period?: string;
  ports?: string[];
}
interface Compose {
  services: Record<string, Service>;
  networks: Record<string, { name?: string; external?: boolean } | null>;
  volumes: Record<string, unknown>;
}
const compose = parse(composeText, { merge: true }) as Compose;
const services = compose.services;
const LONG_RUNNING = ['postgresql', 'temporal', 'temporal-ui', 'worker'];
const ONE_SHOT = ['temporal-schema', 'temporal-admin'];
/** Services that run only when their profile is switched on. */
const OPT_IN = ['codec-server'];

function seconds(text: string): number {
  const m = /^(\d+)\s*(s|m|minutes?|seconds?)$/.exec(text.trim());
  if (!m) throw new Error(`cannot read duration ${text}`);
  return Number(m[1]) * (m[2]!.startsWith('m') ? 60 : 1);
}

describe('docker-compose.temporal.yml', () => {
  it('has PostgreSQL, the Temporal server, its schema and admin jobs, the Web UI and the worker', () => {
    expect(Object.keys(services).sort()).toEqual([...LONG_RUNNING, ...ONE_SHOT, ...OPT_IN].sort());
  });

  it('pins every image and never uses the deprecated auto-setup image', () => {
    for (const [name, svc] of Object.entries(services)) {
      // The worker's image is built here; the codec server runs that same image.
      if (name === 'worker' || name === 'codec-server') continue;
      expect(svc.image, name).toMatch(/^[a-z0-9./-]+:[0-9][\w.-]*$/);
      expect(svc.image, name).not.toMatch(/auto-setup|:latest$/);
    }
    expect(services.temporal!.image).toMatch(/^temporalio\/server:/);
    expect(services['temporal-ui']!.image).toMatch(/^temporalio\/ui:/);
    expect(services['temporal-schema']!.image).toMatch(/^temporalio\/admin-tools:/);
    expect(services['codec-server']!.image).toBe(services.worker!.image);
  });

  it('sets up both schemas with the admin tools before the server starts', () => {
    const script = services['temporal-schema']!.command!.join('\n');
    for (const db of ['temporal', 'temporal_visibility']) {
      expect(script).toMatch(new RegExp(`--db ${db} setup-schema`));
      expect(script).toMatch(new RegExp(`--db ${db} update-schema`));
    }
    expect(services.temporal!.depends_on!['temporal-schema']!.condition).toBe(
      'service_completed_successfully',
    );
    expect(services['temporal-schema']!.depends_on!.postgresql!.condition).toBe('service_healthy');
  });

  it('registers every search attribute of lib/names.ts with its type, before the worker starts', () => {
    const script = services['temporal-admin']!.command!.join('\n');
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_TYPES))
      expect(script).toContain(`${name}=${type}`);
    const registered = [...script.matchAll(/(Sv0\w+)=(Keyword|Datetime)/g)].map((m) => m[1]);
    expect(registered.sort()).toEqual(Object.keys(SEARCH_ATTRIBUTE_TYPES).sort());
    expect(services.worker!.depends_on!['temporal-admin']!.condition).toBe('service_completed_successfully');
  });

  it('gives every long-running service a health check and a restart policy', () => {
    for (const name of LONG_RUNNING) {
      const svc = services[name]!;
      expect(svc.healthcheck?.test, name).toBeDefined();
      expect(svc.healthcheck!.retries, name).toBeGreaterThan(0);
      expect(svc.restart, name).toMatch(/^(unless-stopped|always)$/);
    }
    for (const name of ONE_SHOT) expect(services[name]!.restart, name).toBe('on-failure');
    expect(services['temporal-ui']!.depends_on!.temporal!.condition).toBe('service_healthy');
  });

  it('keeps PostgreSQL data in a named volume', () => {
    const data = services.postgresql!.volumes!.find((v) => v.endsWith(':/var/lib/postgresql/data'));
    expect(data).toBeDefined();
    const volume = data!.split(':')[0]!;
    expect(volume).not.toMatch(/^[./]/);
    expect(Object.keys(compose.volumes)).toContain(volume);
  });

  it('puts the worker on the platform network sv0-platform_default, which the platform project owns', () => {
    const entry = Object.entries(compose.networks).find(([, n]) => n?.name === 'sv0-platform_default');
    expect(entry).toBeDefined();
    expect(entry![1]!.external).toBe(true);
    expect(services.worker!.networks).toContain(entry![0]);
    expect(services.worker!.networks).toContain('temporal');
  });

  it('builds the worker from the Dockerfile and gives it the Docker socket, secrets read-only and a grace time', () => {
    const worker = services.worker!;
    expect(worker.build).toEqual({ context: '.', dockerfile: 'Dockerfile' });
    expect(worker.volumes).toContain('/var/run/docker.sock:/var/run/docker.sock');
    expect(worker.volumes!.some((v) => v.startsWith('/etc/sv0:') && v.endsWith(':ro'))).toBe(true);
    expect(worker.environment!.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(worker.environment!.DOCKER_HOST).toBe('unix:///var/run/docker.sock');
    // The token file is optional (SOPS or plain files serve instead); the worker's own env is not.
    expect(worker.env_file).toEqual([
      { path: '/etc/sv0/worker.env', required: true },
      { path: '/etc/sv0/op-token', required: false },
    ]);
    expect(seconds(worker.stop_grace_period!)).toBeGreaterThan(
      seconds(worker.environment!.SV0_SHUTDOWN_GRACE!),
    );
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
    expect(services.postgresql!.environment!.POSTGRES_PASSWORD).toMatch(/^\$\{POSTGRES_PASSWORD:\?/);
    expect(composeText).not.toMatch(/ops_[A-Za-z0-9]{8,}|AGE-SECRET-KEY-1|AKIA[0-9A-Z]{16}/);
  });

  it('publishes Temporal and the UI on the loopback interface only', () => {
    for (const name of ['temporal', 'temporal-ui']) {
      for (const port of services[name]!.ports ?? []) expect(port, name).toMatch(/^127\.0\.0\.1:/);
    }
    for (const name of ['postgresql', 'worker']) expect(services[name]!.ports, name).toBeUndefined();
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
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')).toMatch(/^node_modules$/m);
  });
});
