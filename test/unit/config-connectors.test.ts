import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dependentsOf, isDigestImage, registryHost } from '../../lib/config/connectors';
import { afterWaitReason } from '../../lib/contracts/connectors';
import { loadConnectorsConfig, loadNotificationsConfig } from '../../lib/runtime/config';
import { ConfigError } from '../../lib/config/validate';

const CONFIG_DIR = path.resolve(__dirname, '..', '..', 'config');

function configWith(yaml: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sv0-connectors-'));
  writeFileSync(path.join(dir, 'connectors.yaml'), yaml);
  return dir;
}

const PLATFORM = 'platform: { url: "http://127.0.0.1:3000", tokenRef: "env:SV0_PLATFORM_TOKEN" }\n';

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

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

  it('refuses AWS keys beside a role chain, and a role chain name that cannot be one', () => {
    const dir = configWith(
      PLATFORM +
        `connectors:
  - name: a
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
    );
    const text = errorOf(() => loadConnectorsConfig(dir)).message;
    expect(text).toMatch(
      /connectors\[0\]\.environment\.AWS_ACCESS_KEY_ID: AWS_ACCESS_KEY_ID comes from the role chain aws-connector/,
    );
    expect(text).toMatch(/connectors\[0\]\.secrets\[0\]\.vars\.AWS_SECRET_ACCESS_KEY: .*remove it here/);
    expect(text).toMatch(/connectors\[0\]\.secrets\[0\]\.vars\.AWS_SESSION_TOKEN/);
    expect(text).not.toMatch(/AWS_REGION/);
    expect(text).toMatch(/connectors\[1\]\.aws\.roleChain: a role chain name/);
    // Without a role chain the file does not judge its variables.
    expect(text).not.toMatch(/connectors\[2\]/);
  });

  it('ships a notifications.yaml that validates', () => {
    expect(loadNotificationsConfig(CONFIG_DIR).sinks.length).toBeGreaterThan(0);
  });

  it('names the file, the field and the reason for each problem', () => {
    const dir = configWith(
      PLATFORM +
        `connectors:
  - name: a
    image: ghcr.io/x/a:1
    interval: 30 minutes
  - name: b
    image: ghcr.io/x/b:1
    interval: 1m
    timeout: 5m
  - name: b
    image: ghcr.io/x/c:1
    interval: 30m
    secrets:
      - type: refs
        vars: { TOKEN: "the-token-itself" }
      - type: env-file
        path: relative/entra.env
      - type: vault
        path: /x
`,
    );
    const err = errorOf(() => loadConnectorsConfig(dir));
    const text = err.message;
    expect(text).toMatch(/connectors\.yaml: connectors\[0\]\.interval: write a duration/);
    expect(text).toMatch(/connectors\[2\]\.secrets\[0\]\.vars\.TOKEN: write a secret reference/);
    expect(text).toMatch(/connectors\[2\]\.secrets\[1\]\.path: write an absolute path/);
    expect(text).toMatch(/connectors\[2\]\.secrets\[2\]\.type/);
  });

  it('checks across connectors once each one is valid: duplicate names, a timeout not shorter than the interval', () => {
    const dir = configWith(
      PLATFORM +
        `connectors:
  - name: b
    image: ghcr.io/x/b:1
    interval: 1m
    timeout: 5m
  - name: b
    image: ghcr.io/x/c:1
    interval: 30m
`,
    );
    const text = errorOf(() => loadConnectorsConfig(dir)).message;
    expect(text).toMatch(
      /connectors\.yaml: connectors\[0\]\.timeout: the timeout must be shorter than the interval/,
    );
    expect(text).toMatch(/connectors\[1\]\.name: duplicate connector name "b"/);
  });

  it('runs a connector after others: no interval of its own, the longest of its upstreams for staleness', () => {
    const dir = configWith(
      PLATFORM +
        `connectors:
  - name: a
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
`,
    );
    const config = loadConnectorsConfig(dir);
    const [, , c, d] = config.connectors;
    expect(c).toMatchObject({ after: ['a', 'b'], interval: '2h' });
    expect(d).toMatchObject({ after: ['c'], interval: '2h' });
    expect(config.connectors[0]?.after).toBeUndefined();
    // A disabled dependent is nobody's dependent.
    expect(dependentsOf(config, 'a')).toEqual(['c']);
    expect(dependentsOf(config, 'c')).toEqual(['d']);
    expect(dependentsOf(config, 'd')).toEqual([]);
  });

  it('refuses after: with an interval, neither, a cycle, an unknown name or a disabled upstream', () => {
    const dir = configWith(
      PLATFORM +
        `connectors:
  - name: a
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
    );
    const problems = errorOf(() => loadConnectorsConfig(dir))
      .message.split('\n')
      .map((line) => line.slice(line.indexOf('connectors.yaml')));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^connectors\.yaml: connectors\[0\]\.interval: a connector with after: has no schedule/,
        ),
        expect.stringMatching(/^connectors\.yaml: connectors\[1\]\.interval: write an interval/),
        'connectors.yaml: connectors[2].after: a cycle: c runs after c; a connector cannot wait on itself',
        expect.stringMatching(/^connectors\.yaml: connectors\[3\]\.after\[1\]: no connector named "ghost"/),
        expect.stringMatching(/^connectors\.yaml: connectors\[5\]\.after\[0\]: connector "e" is disabled/),
      ]),
    );
    expect(problems).toHaveLength(5);
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
    const dir = configWith(
      PLATFORM +
        `defaults: { timeout: 2m, memoryMb: 128, retry: { maximumAttempts: 5, initialInterval: 10s, backoffCoefficient: 2, maximumInterval: 1m } }
connectors:
  - name: a
    image: ghcr.io/x/a:1
    interval: 30m
  - name: b
    image: localhost/b:1
    interval: 30m
    timeout: 1m
    retry: { maximumAttempts: 1 }
`,
    );
    const [a, b] = loadConnectorsConfig(dir).connectors;
    expect(a).toMatchObject({
      timeout: '2m',
      memoryMb: 128,
      network: 'sv0-platform_default',
      retry: { maximumAttempts: 5 },
    });
    expect(b).toMatchObject({ timeout: '1m', retry: { maximumAttempts: 1, initialInterval: '10s' } });
    expect(a?.registryAuth).toBeUndefined();
  });

  it('takes a pull policy per connector: missing when absent, always, never always for a digest', () => {
    const digest = `ghcr.io/x/d@sha256:${'a'.repeat(64)}`;
    const dir = configWith(
      PLATFORM +
        `connectors:
  - name: a
    image: ghcr.io/x/a:1
    interval: 30m
  - name: b
    image: ghcr.io/x/b:1
    pull: always
    interval: 30m
  - name: c
    image: ${digest}
    interval: 30m
`,
    );
    const [a, b, c] = loadConnectorsConfig(dir).connectors;
    // Absent stays absent (the runner's default is missing), so existing schedules keep their input.
    expect(a?.pull).toBeUndefined();
    expect(b?.pull).toBe('always');
    expect(c).toMatchObject({ image: digest });
    expect(c?.pull).toBeUndefined();
    expect(isDigestImage(digest)).toBe(true);
    expect(isDigestImage('ghcr.io/x/a:1')).toBe(false);

    const unknown = configWith(
      PLATFORM +
        `connectors:
  - name: a
    image: ghcr.io/x/a:1
    pull: sometimes
    interval: 30m
`,
    );
    expect(errorOf(() => loadConnectorsConfig(unknown)).message).toMatch(
      /connectors\.yaml: connectors\[0\]\.pull: .*"missing".*"always"/,
    );
    // Checked once every connector is valid, as the other checks across fields are.
    const pinned = configWith(
      PLATFORM +
        `connectors:
  - name: b
    image: ${digest}
    pull: always
    interval: 30m
`,
    );
    expect(errorOf(() => loadConnectorsConfig(pinned)).message).toMatch(
      /connectors\.yaml: connectors\[0\]\.pull: an image pinned by digest never changes/,
    );
  });

  it('finds the registry host of an image reference', () => {
    expect(registryHost('ghcr.io/securityv0/connector-aws:1')).toBe('ghcr.io');
    expect(registryHost('localhost:5000/x:1')).toBe('localhost:5000');
    expect(registryHost('library/busybox')).toBe('docker.io');
    expect(registryHost('busybox')).toBe('docker.io');
  });
});
