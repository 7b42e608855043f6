import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dependentsOf, isDigestImage, registryHost } from '../../lib/config/connectors';
import { afterWaitReason } from '../../lib/contracts/connectors';
import { loadConnectorsConfig, loadNotificationsConfig } from '../../lib/runtime/config';
import { ConfigError } from '../../lib/config/validate';

const CONFIG_DIR = path.resolve(__dirname, '..', '..', 'config');

const PLATFORM = 'platform: { url: "http://127.0.0.1:3000", tokenRef: "env:SV0_PLATFORM_TOKEN" }\n';

/**
 * Load a connectors.yaml of a test platform, `head` (other top-level fields) and these connectors
 * (YAML list items), written to a folder of its own.
 */
function load(connectors: string, head = '') {
  const dir = mkdtempSync(path.join(tmpdir(), 'sv0-connectors-'));
  writeFileSync(path.join(dir, 'connectors.yaml'), `${PLATFORM}${head}connectors:\n${connectors}`);
  return loadConnectorsConfig(dir);
}

/** The problems loading these connectors reports, one a line, from the file's name on. */
function problemsOf(connectors: string): string[] {
  try {
    load(connectors);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.message.split('\n').map((line) => line.slice(line.indexOf('connectors.yaml')));
  }
  throw new Error('expected a ConfigError');
}

const DIGEST_IMAGE = `ghcr.io/x/d@sha256:${'a'.repeat(64)}`;

/**
 * Files the loader refuses: each expected problem is one line of the error, naming the file, the
 * field and the reason; with `count`, the error has exactly that many.
 */
const refusals: { name: string; connectors: string; problems: (string | RegExp)[]; count?: number }[] = [
  {
    name: 'a field in the wrong form, each with its path: a duration in words, a literal secret, a relative path, an unknown source type, a variable name with a space',
    connectors: `  - name: a
    image: ghcr.io/x/a:1
    interval: 30 minutes
  - name: c
    image: ghcr.io/x/c:1
    interval: 30m
    secrets:
      - type: refs
        vars: { TOKEN: "the-token-itself" }
      - type: env-file
        path: relative/entra.env
      - type: vault
        path: /x
      - type: refs
        vars: { "BAD NAME": "env:X" }
`,
    problems: [
      /^connectors\.yaml: connectors\[0\]\.interval: write a duration/,
      /^connectors\.yaml: connectors\[1\]\.secrets\[0\]\.vars\.TOKEN: write a secret reference/,
      /^connectors\.yaml: connectors\[1\]\.secrets\[1\]\.path: write an absolute path/,
      /^connectors\.yaml: connectors\[1\]\.secrets\[2\]\.type/,
      'connectors.yaml: connectors[1].secrets[3].vars.BAD NAME: an environment variable name is letters, digits and _',
    ],
  },
  {
    name: 'across connectors once each is valid: a duplicate name, a timeout not shorter than the interval',
    connectors: `  - name: b
    image: ghcr.io/x/b:1
    interval: 1m
    timeout: 5m
  - name: b
    image: ghcr.io/x/c:1
    interval: 30m
`,
    problems: [
      'connectors.yaml: connectors[0].timeout: the timeout must be shorter than the interval',
      'connectors.yaml: connectors[1].name: duplicate connector name "b"',
    ],
    count: 2,
  },
  {
    name: 'AWS keys beside a role chain, and a role chain name that cannot be one (without a chain, variables are not judged)',
    connectors: `  - name: a
    image: ghcr.io/x/a:1
    interval: 30m
    environment: { AWS_ACCESS_KEY_ID: AKIAEXAMPLE, AWS_REGION: us-east-1 }
    secrets:
      - type: refs
        vars: { AWS_SECRET_ACCESS_KEY: "op://v/i/f", AWS_SESSION_TOKEN: "env:T" }
    aws: { roleChain: aws-connector }
  - name: b
    image: ghcr.io/x/b:1
    interval: 30m
    aws: { roleChain: "Admin Everywhere" }
  - name: c
    image: ghcr.io/x/c:1
    interval: 30m
    environment: { AWS_ACCESS_KEY_ID: AKIAEXAMPLE }
`,
    problems: [
      'connectors.yaml: connectors[0].environment.AWS_ACCESS_KEY_ID: AWS_ACCESS_KEY_ID comes from the role chain aws-connector (aws:); remove it here',
      /^connectors\.yaml: connectors\[0\]\.secrets\[0\]\.vars\.AWS_SECRET_ACCESS_KEY: .*remove it here/,
      /^connectors\.yaml: connectors\[0\]\.secrets\[0\]\.vars\.AWS_SESSION_TOKEN: /,
      /^connectors\.yaml: connectors\[1\]\.aws\.roleChain: a role chain name/,
    ],
    count: 4,
  },
  {
    name: 'after: with an interval, neither, a cycle, an unknown name or a disabled upstream',
    connectors: `  - name: a
    image: ghcr.io/x/a:1
    interval: 30m
    after: [b]
  - name: b
    image: ghcr.io/x/b:1
  - name: c
    image: ghcr.io/x/c:1
    after: [c]
  - name: d
    image: ghcr.io/x/d:1
    after: [a, ghost]
  - name: e
    enabled: false
    image: ghcr.io/x/e:1
    interval: 30m
  - name: f
    image: ghcr.io/x/f:1
    after: [e]
`,
    problems: [
      /^connectors\.yaml: connectors\[0\]\.interval: a connector with after: has no schedule/,
      /^connectors\.yaml: connectors\[1\]\.interval: write an interval/,
      'connectors.yaml: connectors[2].after: a cycle: c runs after c; a connector cannot wait on itself',
      /^connectors\.yaml: connectors\[3\]\.after\[1\]: no connector named "ghost"/,
      /^connectors\.yaml: connectors\[5\]\.after\[0\]: connector "e" is disabled/,
    ],
    count: 5,
  },
  {
    name: 'a pull policy that does not exist',
    connectors: `  - name: a
    image: ghcr.io/x/a:1
    pull: sometimes
    interval: 30m
`,
    problems: [/^connectors\.yaml: connectors\[0\]\.pull: .*"missing".*"always"/],
    count: 1,
  },
  {
    name: 'pull: always for an image pinned by digest (checked once every connector is valid)',
    connectors: `  - name: b
    image: ${DIGEST_IMAGE}
    pull: always
    interval: 30m
`,
    problems: [/^connectors\.yaml: connectors\[0\]\.pull: an image pinned by digest never changes/],
    count: 1,
  },
];

describe('config/connectors.yaml', () => {
  it('declares the configured connectors with their intervals, image, args, network, limits and secret sources', () => {
    const config = loadConnectorsConfig(CONFIG_DIR);
    const byName = Object.fromEntries(config.connectors.map((c) => [c.name, c]));
    expect(Object.keys(byName)).toEqual(['entra-servicenow', 'azure-foundry', 'aws']);
    expect([
      byName['entra-servicenow']?.interval,
      byName['azure-foundry']?.interval,
      byName.aws?.interval,
    ]).toEqual(['30m', '60m', '30m']);
    expect(byName.aws?.enabled).toBe(false);
    for (const c of config.connectors) {
      expect(c.args).toEqual(['--all', '--submit', '--platform-url', 'http://api:3000']);
      expect(c.network).toBe('sv0-platform_default');
      expect(c.timeout).toBe('5m');
      expect(c.memoryMb).toBe(256);
      expect(c.retry.maximumAttempts).toBeGreaterThan(1);
      // Each gets its secrets from a source, the AWS connector its keys from a role chain.
      expect(c.secrets.length + (c.aws ? 1 : 0)).toBeGreaterThan(0);
      // GHCR images pull with credentials given as a reference, never a value.
      expect(c.registryAuth).toMatchObject({
        server: 'ghcr.io',
        passwordRef: expect.stringMatching(/^(op:\/\/|env:|file:\/)/),
      });
    }
    expect(config.platform.tokenRef).toMatch(/^(op:\/\/|env:|file:\/)/);
    // No AWS key is written anywhere: the AWS connector's come from the worker's role chain.
    expect(byName.aws?.aws).toEqual({ roleChain: 'aws-connector' });
    expect(byName.aws?.secrets).toEqual([]);
  });

  it.each(refusals)('refuses $name', ({ connectors, problems, count }) => {
    const lines = problemsOf(connectors);
    expect(lines).toEqual(
      expect.arrayContaining(problems.map((p) => (typeof p === 'string' ? p : expect.stringMatching(p)))),
    );
    if (count !== undefined) expect(lines).toHaveLength(count);
  });

  it('ships a notifications.yaml that validates', () => {
    expect(loadNotificationsConfig(CONFIG_DIR).sinks.length).toBeGreaterThan(0);
  });

  it('runs a connector after others: no interval of its own, the longest of its upstreams for staleness', () => {
    const config = load(`  - name: a
    image: ghcr.io/x/a:1
    interval: 30m
  - name: b
    image: ghcr.io/x/b:1
    interval: 2h
  - name: c
    image: ghcr.io/x/c:1
    after: [a, b]
  - name: d
    image: ghcr.io/x/d:1
    after: [c]
  - name: e
    enabled: false
    image: ghcr.io/x/e:1
    after: [a]
`);
    const [, , c, d] = config.connectors;
    expect(c).toMatchObject({ after: ['a', 'b'], interval: '2h' });
    expect(d).toMatchObject({ after: ['c'], interval: '2h' });
    expect(config.connectors[0]?.after).toBeUndefined();
    // A disabled dependent is nobody's dependent.
    expect(dependentsOf(config, 'a')).toEqual(['c']);
    expect(dependentsOf(config, 'c')).toEqual(['d']);
    expect(dependentsOf(config, 'd')).toEqual([]);
  });

  it('says why a connector that runs after others waits: a failed upstream holds it', () => {
    const report = (connector: string, ok: boolean) => ({
      connector,
      workflowId: `${connector}-1`,
      ok,
      at: 't',
    });
    const state = {
      skipped: 0,
      upstreams: {
        a: { succeededSinceRun: true, last: report('a', true) },
        b: { succeededSinceRun: false, last: report('b', false) },
        c: { succeededSinceRun: false },
      },
    };
    expect(afterWaitReason(state, ['a', 'b', 'c'])).toBe('held: b failed');
    expect(afterWaitReason(state, ['a', 'c'])).toBe('waiting on c');
    expect(afterWaitReason({ ...state, running: { workflowId: 'x', startedAt: 't' } }, ['a', 'b'])).toBe(
      'running',
    );
  });

  it('applies the defaults and lets a connector override them', () => {
    const [a, b] = load(
      `  - name: a
    image: ghcr.io/x/a:1
    interval: 30m
  - name: b
    image: localhost/b:1
    interval: 30m
    timeout: 1m
    retry: { maximumAttempts: 1 }
`,
      'defaults: { timeout: 2m, memoryMb: 128, retry: { maximumAttempts: 5, initialInterval: 10s, backoffCoefficient: 2, maximumInterval: 1m } }\n',
    ).connectors;
    expect(a).toMatchObject({
      timeout: '2m',
      memoryMb: 128,
      network: 'sv0-platform_default',
      retry: { maximumAttempts: 5 },
    });
    expect(b).toMatchObject({ timeout: '1m', retry: { maximumAttempts: 1, initialInterval: '10s' } });
    expect(a?.registryAuth).toBeUndefined();
  });

  it('takes a pull policy per connector: missing when absent, always', () => {
    const [a, b, c] = load(`  - name: a
    image: ghcr.io/x/a:1
    interval: 30m
  - name: b
    image: ghcr.io/x/b:1
    pull: always
    interval: 30m
  - name: c
    image: ${DIGEST_IMAGE}
    interval: 30m
`).connectors;
    // Absent stays absent (the runner's default is missing), so existing schedules keep their input.
    expect(a?.pull).toBeUndefined();
    expect(b?.pull).toBe('always');
    expect(c).toMatchObject({ image: DIGEST_IMAGE });
    expect(c?.pull).toBeUndefined();
    expect(isDigestImage(DIGEST_IMAGE)).toBe(true);
    expect(isDigestImage('ghcr.io/x/a:1')).toBe(false);
  });

  it('finds the registry host of an image reference', () => {
    expect(registryHost('ghcr.io/securityv0/connector-aws:1')).toBe('ghcr.io');
    expect(registryHost('localhost:5000/x:1')).toBe('localhost:5000');
    expect(registryHost('library/busybox')).toBe('docker.io');
    expect(registryHost('busybox')).toBe('docker.io');
  });
});
