import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  envReferenceRefusal,
  pathRefusal,
  platformUrlRefusal,
  WorkerSettingsSchema,
  workerSettings,
} from '../../lib/config/worker';
import { ConfigError } from '../../lib/config/validate';
import { connectorRefusals, connectorsConfigRefusals } from '../../lib/contracts/connectors-inputs';
import { loadConnectorsConfig, loadNotificationsConfig } from '../../lib/runtime/config';
import {
  ageKeySourceFromEnv,
  checkConnectorsForWorker,
  loadWorkerSettings,
} from '../../lib/runtime/worker-settings';

const REPO = path.resolve(__dirname, '../..');
const CONFIG = path.join(REPO, 'config');
/** The shipped compose file's worker environment, as far as the settings read it. */
const COMPOSE_ENV = { SOPS_AGE_KEY_FILE: '/etc/sv0/age-key.txt', SV0_CONFIG_DIR: CONFIG };

function configCopy(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sv0-worker-settings-'));
  cpSync(CONFIG, dir, { recursive: true });
  return dir;
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('the shipped worker settings', () => {
  it('config/worker.yaml writes out exactly the defaults', () => {
    const shipped = WorkerSettingsSchema.parse(parse(readFileSync(path.join(CONFIG, 'worker.yaml'), 'utf8')));
    expect(shipped).toEqual(WorkerSettingsSchema.parse({}));
  });

  it('accept every shipped reference, path, network, image and URL of config/', () => {
    const settings = loadWorkerSettings(COMPOSE_ENV);
    const connectors = loadConnectorsConfig(CONFIG);
    expect(connectors.connectors.length).toBeGreaterThanOrEqual(3);
    for (const c of connectors.connectors)
      expect(connectorRefusals(settings, c).refusals, c.name).toEqual([]);
    expect(connectorsConfigRefusals(settings, connectors)).toEqual([]);
    for (const sink of loadNotificationsConfig(CONFIG).sinks)
      if (sink.type === 'webhook') expect(envReferenceRefusal(settings, sink.urlRef)).toBeUndefined();
    expect(() => checkConnectorsForWorker(CONFIG, connectors, COMPOSE_ENV)).not.toThrow();
  });

  it('take the sandbox accounts from org.yaml, the age key from the environment', () => {
    const settings = loadWorkerSettings(COMPOSE_ENV);
    expect(settings.sandbox).toEqual({ accounts: ['sv0-demo'], orchestratorRole: 'sv0-orchestrator-deploy' });
    expect(settings.ageKey).toEqual({ kind: 'file', path: '/etc/sv0/age-key.txt' });
    expect(settings.platform.url).toBe('http://api:3000');
    expect(loadConnectorsConfig(CONFIG).platform.url).toBe(settings.platform.url);
  });
});

describe('refusals name the setting to change', () => {
  const settings = workerSettings({ secrets: { envNames: ['CONNECTOR_*', 'PLAIN'] } });

  it.each([
    ['FOO', /env:FOO is not allowed by the worker \(add FOO to secrets\.envNames in worker\.yaml\)/],
    ['AWS_SECRET_ACCESS_KEY', /never readable by connectors .*AWS_\*/],
    ['OP_SERVICE_ACCOUNT_TOKEN', /never readable/],
    ['TEMPORAL_API_KEY', /never readable/],
    ['SV0_CODEC_KEYS', /never readable/],
    ['SOPS_AGE_KEY', /never readable/],
    ['CONNECTOR_KEY_FILE', /never readable .*\*_FILE/],
  ])('env:%s', (name, message) => {
    expect(envReferenceRefusal(settings, name)).toMatch(message);
  });

  it('allows names and prefixes the settings list', () => {
    expect(envReferenceRefusal(settings, 'PLAIN')).toBeUndefined();
    expect(envReferenceRefusal(settings, 'CONNECTOR_TOKEN')).toBeUndefined();
    expect(envReferenceRefusal(settings, 'PLAIN2')).toMatch(/not allowed/);
  });

  it('even a settings file that lists a worker credential cannot make it readable', () => {
    const wide = workerSettings({ secrets: { envNames: ['A*', 'AWS_SECRET_ACCESS_KEY'] } });
    expect(envReferenceRefusal(wide, 'AWS_SECRET_ACCESS_KEY')).toMatch(/never readable/);
    expect(envReferenceRefusal(wide, 'APP_TOKEN')).toBeUndefined();
  });

  it.each([
    [
      '/etc/sv0/worker.env',
      /outside the worker's secret folders \(\/etc\/sv0\/connectors; add its folder to secrets\.folders/,
    ],
    ['/etc/sv0/connectors/../worker.env', /\.\. is refused/],
    ['/etc/sv0/connectorsX/a.env', /outside/],
    ['etc/sv0/connectors/a.env', /absolute/],
  ])('path %s', (file, message) => {
    expect(pathRefusal(settings, file, `file ${file}`)).toMatch(message);
  });

  it('the platform URL must be the worker platform origin', () => {
    expect(platformUrlRefusal(settings, 'http://api:3000/other')).toBeUndefined();
    expect(platformUrlRefusal(settings, 'https://evil.example/api')).toMatch(
      /https:\/\/evil\.example is not the worker's platform \(http:\/\/api:3000; set platform\.url/,
    );
  });

  it('a shipped connector edited to ask for more is refused with each reason', () => {
    const [entra] = loadConnectorsConfig(CONFIG).connectors;
    const { refusals } = connectorRefusals(settings, {
      ...entra!,
      image: 'docker.io/evil/x:1',
      network: 'host',
      memoryMb: 4096,
      cpus: 8,
      pids: 65536,
      registryAuth: { server: 'ghcr.io', username: 'u', passwordRef: 'env:AWS_SECRET_ACCESS_KEY' },
      secrets: [
        {
          type: 'refs',
          vars: {
            X: 'env:AWS_SECRET_ACCESS_KEY',
            Y: 'file:/etc/sv0/worker.env',
            Z: 'aws-sm://prod/admin#key',
          },
        },
        { type: 'sops', path: '/etc/sv0/connectors/a.env.enc', ageKeyFile: '/tmp/attacker.key' },
      ],
      aws: { roleChain: 'admin-everywhere' },
    });
    const text = refusals.join('\n');
    for (const pattern of [
      /image docker\.io\/evil\/x:1 is not allowed .*connectors\.images/,
      /network host is never allowed/,
      /memoryMb 4096 is above the worker's maximum of 2048/,
      /cpus 8 is above the worker's maximum of 2/,
      /pids 65536 is above the worker's maximum of 1024/,
      /registry credentials for ghcr\.io cannot be used for image docker\.io\/evil\/x:1/,
      /X: env:AWS_SECRET_ACCESS_KEY is never readable/,
      /Y: file \/etc\/sv0\/worker\.env is outside/,
      /Z: aws-sm:\/\/prod\/admin#key: AWS Secrets Manager secret prod\/admin is not allowed by the worker \(add prod\/admin to secrets\.awsSecretsManager in worker\.yaml\)/,
      /ageKeyFile \/tmp\/attacker\.key is refused: the worker decrypts only with its own age key/,
      /AWS role chain admin-everywhere is not one of the worker's \(aws-connector; add it to secrets\.roleChains in worker\.yaml\)/,
    ])
      expect(text).toMatch(pattern);
  });
});

describe('loading worker.yaml', () => {
  it('no file: the defaults', () => {
    const dir = configCopy();
    execFileSync('rm', [path.join(dir, 'worker.yaml')]);
    const settings = loadWorkerSettings({ SV0_CONFIG_DIR: dir });
    expect(settings.connectors).toEqual(WorkerSettingsSchema.parse({}).connectors);
    expect(settings.ageKey).toEqual({ kind: 'none' });
  });

  it.each([
    ['connectors:\n  networks: [host]\n', /connectors\.networks\[0\]: host networking is never allowed/],
    ['platform:\n  url: not a url\n', /platform\.url/],
    ['secrets:\n  folders: [relative]\n', /secrets\.folders\[0\]: an absolute folder path/],
    [
      'connectors:\n  pids: { default: 2000, max: 1000 }\n',
      /connectors\.pids: the default must not exceed the maximum/,
    ],
    ['secret:\n  envNames: []\n', /secret/],
    ['sandbox:\n  managementAccountId: 123\n', /sandbox\.managementAccountId/],
    [
      'secrets:\n  envNames: [AWS_SECRET_ACCESS_KEY]\n',
      /secrets\.envNames\[0\]: never readable by connectors/,
    ],
    ['secrets:\n  envNames: [TEMPORAL_TLS_*]\n', /secrets\.envNames\[0\]: never readable by connectors/],
    ['secrets:\n  roleChains: { aws: [] }\n', /secrets\.roleChains\.aws/],
    ['secrets:\n  awsSecretsManager: ["a b"]\n', /secrets\.awsSecretsManager\[0\]: a secret name/],
    ['secrets:\n  awsSecretsManager: ["*"]\n', /secrets\.awsSecretsManager\[0\]/],
    [
      'secrets:\n  roleChains: { aws: [{ account: sv0-platform, role: "a role" }] }\n',
      /secrets\.roleChains\.aws\[0\]\.role: an IAM role name/,
    ],
    [
      'secrets:\n  roleChains: { aws: [{ account: sv0-platform, role: r, externalId: "has space" }] }\n',
      /secrets\.roleChains\.aws\[0\]\.externalId: an external id/,
    ],
    [
      'secrets:\n  roleChains: { aws: [{ account: sv0-platform, role: r, session: x }] }\n',
      /secrets\.roleChains\.aws\[0\]/,
    ],
    [
      'secrets:\n  roleChains: { Admin: [{ account: "1", role: r }] }\n',
      /secrets\.roleChains\.Admin: a role chain name is lower case letters, digits and dashes/,
    ],
  ])('bad settings are refused with the file and field: %s', (text, message) => {
    const dir = configCopy();
    writeFileSync(path.join(dir, 'worker.yaml'), text);
    const err = thrown(() => loadWorkerSettings({ SV0_CONFIG_DIR: dir }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/worker\.yaml/);
    expect(err.message).toMatch(message);
  });

  it('the old secrets.assumeRoles is refused naming the new field, beside the other problems of the file', () => {
    const dir = configCopy();
    writeFileSync(
      path.join(dir, 'worker.yaml'),
      'secrets:\n  assumeRoles: ["arn:aws:iam::123456789012:role/reader"]\n  envNames: [AWS_PROFILE]\n',
    );
    const err = thrown(() => loadWorkerSettings({ SV0_CONFIG_DIR: dir }));
    expect(err).toBeInstanceOf(ConfigError);
    const lines = err.message.split('\n');
    expect(lines).toEqual([
      `${path.join(dir, 'worker.yaml')}: secrets.envNames[0]: never readable by connectors: AWS_*, OP_SERVICE_ACCOUNT_TOKEN*, TEMPORAL_*, SV0_CODEC_*, SOPS_AGE_*, *_FILE`,
      expect.stringMatching(
        /^.*worker\.yaml: secrets\.assumeRoles: now named secrets\.roleChains; write it as named chains of hops.*arn:aws:iam::<account>:role\/<name> becomes the hop \{ account: <account>, role: <name> \}$/,
      ),
    ]);
    // Empty, it is refused all the same: the key alone shows an old file.
    writeFileSync(path.join(dir, 'worker.yaml'), 'secrets:\n  assumeRoles: []\n');
    expect(thrown(() => loadWorkerSettings({ SV0_CONFIG_DIR: dir })).message).toMatch(
      /worker\.yaml: secrets\.assumeRoles: now named secrets\.roleChains/,
    );
  });

  it('a platform URL with a password is refused without repeating it', () => {
    const dir = configCopy();
    writeFileSync(path.join(dir, 'worker.yaml'), 'platform:\n  url: http://sv0:pw-7c1e93@api:3000\n');
    const err = thrown(() => loadWorkerSettings({ SV0_CONFIG_DIR: dir }));
    expect(err.message).toMatch(/platform\.url: no user name or password in the URL/);
    expect(err.message).not.toContain('pw-7c1e93');
  });

  it('SV0_WORKER_SETTINGS names the file, which must exist; sandbox accounts it lists win over org.yaml', () => {
    const dir = configCopy();
    const file = path.join(dir, 'elsewhere.yaml');
    expect(thrown(() => loadWorkerSettings({ SV0_WORKER_SETTINGS: file })).message).toMatch(
      /elsewhere\.yaml: file not found/,
    );
    writeFileSync(file, 'sandbox:\n  accounts: ["210987654321"]\n');
    expect(loadWorkerSettings({ SV0_WORKER_SETTINGS: file, SV0_CONFIG_DIR: dir }).sandbox.accounts).toEqual([
      '210987654321',
    ]);
  });

  it('the age key from exactly one of SOPS_AGE_KEY_FILE or SOPS_AGE_KEY', () => {
    expect(ageKeySourceFromEnv({ SOPS_AGE_KEY: 'AGE-SECRET-KEY-1X' })).toEqual({ kind: 'env' });
    expect(ageKeySourceFromEnv({})).toEqual({ kind: 'none' });
    expect(thrown(() => ageKeySourceFromEnv({ SOPS_AGE_KEY_FILE: '/k', SOPS_AGE_KEY: 'x' })).message).toMatch(
      /SOPS_AGE_KEY_FILE, SOPS_AGE_KEY: both are set/,
    );
  });

  it('the CLI reports a config the worker would refuse against connectors.yaml, naming the setting', () => {
    const dir = configCopy();
    const file = path.join(dir, 'connectors.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace('roleChain: aws-connector', 'roleChain: admin-everywhere'),
    );
    const err = thrown(() => checkConnectorsForWorker(dir, loadConnectorsConfig(dir), {}));
    expect(err.message).toMatch(
      /connectors\.yaml: connectors\[2\]: connector aws: AWS role chain admin-everywhere is not one of the worker's \(aws-connector; add it to secrets\.roleChains in worker\.yaml\)/,
    );
  });

  it('bad settings stop the worker at start, with the file, field and reason', () => {
    const dir = configCopy();
    writeFileSync(path.join(dir, 'worker.yaml'), 'connectors:\n  networks: [host]\n');
    let stderr = '';
    try {
      execFileSync(process.execPath, ['--import', 'tsx', path.join(REPO, 'workers/main.ts')], {
        env: { PATH: process.env.PATH, SV0_CONFIG_DIR: dir, TEMPORAL_ADDRESS: '127.0.0.1:1' },
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: 60_000,
      });
    } catch (err) {
      stderr = String((err as { stderr: Buffer }).stderr);
      expect((err as { status: number }).status).toBe(1);
    }
    expect(stderr).toMatch(/worker\.yaml: connectors\.networks\[0\]: host networking is never allowed/);
  });
});
