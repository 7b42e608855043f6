import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/config/validate';
import { loadScenario, loadScenarios } from '../../lib/runtime/config';
import { stack } from '../harness/stack';

const CONFIG = path.resolve(__dirname, '../../config');
const SEED_SCENARIOS = ['bedrock-support-agent', 'cross-account-trust', 'github-to-runtime'];

describe('config/scenarios', () => {
  it('holds the three scenarios, each with a template, parameters and TTLs', () => {
    const all = loadScenarios(CONFIG);
    expect([...all.keys()]).toEqual(SEED_SCENARIOS);
    for (const s of all.values()) {
      expect(s.defaultTtlMs).toBeGreaterThan(0);
      expect(s.maxTtlMs).toBeGreaterThanOrEqual(s.defaultTtlMs);
      expect(Object.keys(s.resourceTypes).length).toBeGreaterThan(3);
      // Self-contained: no CDK bootstrap assets or asset parameters.
      expect(s.templateBody).not.toMatch(/cdk-hnb659fds|AssetParameters|BootstrapVersion/);
      expect(s.templateBody).toMatch(/ZipFile:/);
    }
  });

  it('passes cfn-lint', () => {
    const cfnLint = stack().tools.cfnLint;
    if (!cfnLint) {
      throw new Error(
        'cfn-lint is not provisioned (no CFN_LINT_PATH in .sv0/stack.env): run `bash scripts/stack.sh provision`',
      );
    }
    const templates = [...loadScenarios(CONFIG).values()].map((s) => s.templateFile);
    const run = spawnSync(cfnLint, ['--format', 'parseable', ...templates], { encoding: 'utf8' });
    expect(run.error, `cannot run ${cfnLint}`).toBeUndefined();
    expect(`${run.stdout}${run.stderr}`.trim()).toBe('');
    expect(run.status).toBe(0);
  });

  it('rejects a bad scenario with file, field and reason', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sv0-scen-'));
    mkdirSync(path.join(dir, 'scenarios', 'templates'), { recursive: true });
    copyFileSync(
      path.join(CONFIG, 'scenarios/templates/cross-account-trust.yaml'),
      path.join(dir, 'scenarios/templates/t.yaml'),
    );
    const write = (body: string) => writeFileSync(path.join(dir, 'scenarios', 'demo.yaml'), body);

    write(
      'name: demo\ndescription: d\ntemplate: templates/t.yaml\nparameters: {}\ndefaultTtl: 4 hours\nmaxTtl: 1h\n',
    );
    expect(() => loadScenario(dir, 'demo')).toThrow(/demo\.yaml: defaultTtl: write a duration/);

    write(
      'name: demo\ndescription: d\ntemplate: templates/t.yaml\nparameters: {Nope: x}\ndefaultTtl: 4h\nmaxTtl: 2h\n',
    );
    expect(() => loadScenario(dir, 'demo')).toThrow(/defaultTtl must not exceed maxTtl/);

    write(
      'name: demo\ndescription: d\ntemplate: templates/t.yaml\nparameters: {Nope: x}\ndefaultTtl: 1h\nmaxTtl: 2h\n',
    );
    let err: unknown;
    try {
      loadScenario(dir, 'demo');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(String(err)).toMatch(/parameters\.Nope: the template declares no parameter Nope/);
    expect(String(err)).toMatch(/PlatformAccountId has no default/);

    writeFileSync(
      path.join(dir, 'scenarios/templates/t.yaml'),
      'Resources:\n  A:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: !Ref X\n',
    );
    write('name: demo\ndescription: d\ntemplate: templates/t.yaml\ndefaultTtl: 1h\nmaxTtl: 2h\n');
    expect(() => loadScenario(dir, 'demo')).toThrow(/long form/);

    expect(() => loadScenario(CONFIG, 'nope')).toThrow(/no scenario "nope"; known: bedrock-support-agent/);
  });
});
