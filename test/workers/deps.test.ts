/**
 * The worker's container engine client is dockerode's own resolution of DOCKER_HOST, as the
 * docker CLI resolves it: unix sockets, tcp with TLS (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) and
 * ssh, with no parser of the project's in between.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { workerSettings } from '../../lib/config/worker';
import { depsFromEnv as depsWithSettings } from '../../workers/deps';
import { stack } from '../harness/stack';

interface ModemView {
  socketPath?: string;
  protocol?: string;
  host?: string;
  port?: string | number;
  ca?: unknown;
  cert?: Buffer;
  key?: Buffer;
}
/** The worker's deps with default settings: only the engine client matters here. */
const depsFromEnv = () => depsWithSettings(workerSettings());
const modemOf = (deps: ReturnType<typeof depsFromEnv>) => deps.docker.modem as unknown as ModemView;

describe('the worker reaches the container engine named by DOCKER_HOST', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('answers on the unix socket of the test run’s engine', async () => {
    vi.stubEnv('DOCKER_HOST', stack().dockerHost);
    const deps = depsFromEnv();
    expect(modemOf(deps).socketPath).toBe(stack().dockerSocket);
    expect(String(await deps.docker.ping())).toBe('OK');
  });

  it('connects over ssh:// like the docker CLI', () => {
    vi.stubEnv('DOCKER_HOST', 'ssh://deploy@engine.example:2222');
    expect(modemOf(depsFromEnv())).toMatchObject({ protocol: 'ssh', host: 'engine.example', port: '2222' });
  });

  it('connects over tcp:// with TLS and the client certificate from DOCKER_CERT_PATH', () => {
    const certs = mkdtempSync(path.join(tmpdir(), 'sv0-docker-certs-'));
    // Only read and handed to the TLS socket here, never parsed: any PEM-shaped text will do.
    const pem = (what: string) => `-----BEGIN CERTIFICATE-----\n${what}\n-----END CERTIFICATE-----\n`;
    for (const file of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(path.join(certs, file), pem(file));
    vi.stubEnv('DOCKER_HOST', 'tcp://engine.example:2376');
    vi.stubEnv('DOCKER_TLS_VERIFY', '1');
    vi.stubEnv('DOCKER_CERT_PATH', certs);
    const modem = modemOf(depsFromEnv());
    expect(modem).toMatchObject({ protocol: 'https', host: 'engine.example', port: '2376' });
    expect(String(modem.cert)).toContain('cert.pem');
    expect(String(modem.key)).toContain('key.pem');
    expect(String(modem.ca)).toContain('ca.pem');
  });
});
