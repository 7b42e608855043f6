/**
 * The worker image, as the Dockerfile builds it on Node 24 (provisioning builds it; a test only
 * runs it): the CLI answers, everything runs as uid 1000, the worker stops with one clear line when
 * Temporal cannot be reached, tokens come from files (compose `secrets:` and `*_FILE`, also in the
 * old env-file format of /etc/sv0/op-token). None of this needs a server; the compose file's
 * worker service, started from the image with its own environment and secret against the
 * PostgreSQL-backed production server, is one of the two workers of
 * test/integration/deployment.test.ts, which runs the one production stack of the suite.
 */
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWorkerImage, runWorkerImage } from '../../scripts/worker-image';
import { testDocker } from '../harness/docker';
import { registerSecrets } from '../harness/secret-registry';

/** A made-up token of the service-account shape; never valid anywhere. */
const TOKEN = 'ops_workerImageTestToken0000000000000000';
const UNREACHABLE = { TEMPORAL_ADDRESS: '127.0.0.1:1' };
/** For `sv0 doctor`: every dependency refuses at once (no network in the container). */
const OFFLINE = {
  ...UNREACHABLE,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIAWORKERIMAGETEST0',
  AWS_SECRET_ACCESS_KEY: 'worker-image-test-not-a-key',
  AWS_ENDPOINT_URL: 'http://127.0.0.1:1',
  AWS_MAX_ATTEMPTS: '1',
};

const secretDirs: string[] = [];
afterAll(() => {
  for (const dir of secretDirs) rmSync(dir, { recursive: true, force: true });
});

/** A directory of files the image's user (uid 1000) owns, to mount as /run/secrets. */
function secretsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sv0-image-secrets-'));
  secretDirs.push(dir);
  chmodSync(dir, 0o755);
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(path.join(dir, name), content, { mode: 0o600 });
    chownSync(path.join(dir, name), 1000, 1000);
  }
  return dir;
}

interface DoctorReport {
  checks: { name: string; status: string; detail: string }[];
}

describe('the worker image', () => {
  let image: string;

  beforeAll(() => {
    image = ensureWorkerImage();
    registerSecrets(TOKEN);
  }, 900_000);

  it('answers sv0 --help', async () => {
    const run = await runWorkerImage(testDocker(), image, { cmd: ['sv0', '--help'] });
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/^Usage: sv0 \[options\] \[command\]/);
    expect(run.stdout).toMatch(/Exit codes:/);
  });

  it('runs as the unprivileged node user, uid 1000, on Node 24', async () => {
    const info = await testDocker().getImage(image).inspect();
    expect(info.Config.User).toBe('node');
    const run = await runWorkerImage(testDocker(), image, {
      cmd: ['node', '-e', 'process.stdout.write(`${process.getuid()} ${process.version}`)'],
    });
    expect(run.stdout).toMatch(/^1000 v24\./);
  });

  it('runs Node on jemalloc, the allocator its environment preloads', async () => {
    const run = await runWorkerImage(testDocker(), image, {
      cmd: [
        'node',
        '-e',
        "process.stdout.write(require('fs').readFileSync('/proc/self/maps', 'utf8').match(/\\/[^\\s]*libjemalloc[^\\s]*/)?.[0] ?? 'no jemalloc')",
      ],
    });
    expect(run.stderr).not.toMatch(/cannot be preloaded/);
    expect(run.stdout).toMatch(/\/libjemalloc\.so\.2$/);
  });

  it('stops with one clear line, no stack trace, when Temporal cannot be reached', async () => {
    const run = await runWorkerImage(testDocker(), image, { env: UNREACHABLE });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(
      /^sv0 worker failed: cannot connect to Temporal at 127\.0\.0\.1:1 \(namespace default\)/m,
    );
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });

  it('reads the 1Password token from OP_SERVICE_ACCOUNT_TOKEN_FILE, also in the old env-file format', async () => {
    const dir = secretsDir({ token: `${TOKEN}\n`, 'old-format': `OP_SERVICE_ACCOUNT_TOKEN=${TOKEN}\n` });
    const doctor = (env: Record<string, string>) =>
      runWorkerImage(testDocker(), image, {
        cmd: ['sv0', 'doctor', '--json'],
        env: { ...OFFLINE, ...env },
        binds: [`${dir}:/run/secrets:ro`],
      });
    const onePassword = (stdout: string) =>
      (JSON.parse(stdout) as DoctorReport).checks.find((c) => c.name === '1password')?.status;
    const [plain, old, without] = await Promise.all([
      doctor({ OP_SERVICE_ACCOUNT_TOKEN_FILE: '/run/secrets/token' }),
      doctor({ OP_SERVICE_ACCOUNT_TOKEN_FILE: '/run/secrets/old-format' }),
      doctor({}),
    ]);
    expect(onePassword(plain.stdout)).toBe('ok');
    expect(plain.stderr).not.toMatch(/old env-file format/);
    expect(onePassword(old.stdout)).toBe('ok');
    expect(old.stderr).toMatch(
      /warning: OP_SERVICE_ACCOUNT_TOKEN_FILE=\/run\/secrets\/old-format is in the old env-file format/,
    );
    // Without the file the same check fails: the file is what made it pass.
    expect(onePassword(without.stdout)).toBe('fail');
    for (const run of [plain, old]) expect(run.stdout + run.stderr).not.toContain(TOKEN);
  });

  it('names the variable and the file when the token file is missing, in the worker and the CLI', async () => {
    const env = { ...OFFLINE, OP_SERVICE_ACCOUNT_TOKEN_FILE: '/run/secrets/absent' };
    const worker = await runWorkerImage(testDocker(), image, { env });
    expect(worker.exitCode).toBe(1);
    expect(worker.stderr).toMatch(
      /^sv0 worker failed: OP_SERVICE_ACCOUNT_TOKEN_FILE=\/run\/secrets\/absent: cannot read the file \(ENOENT\)$/m,
    );
    const cli = await runWorkerImage(testDocker(), image, { cmd: ['sv0', 'doctor'], env });
    expect(cli.exitCode).toBe(2);
    expect(cli.stderr).toContain(
      'OP_SERVICE_ACCOUNT_TOKEN_FILE=/run/secrets/absent: cannot read the file (ENOENT)',
    );
  });
});
