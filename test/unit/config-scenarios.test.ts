import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASSET_BUCKET_PARAMETER } from '../../lib/config/scenarios';
import { ConfigError } from '../../lib/config/validate';
import {
  loadScenario,
  loadScenarios,
  scenarioTemplate,
  type ResolvedTemplate,
} from '../../lib/runtime/config';
import { stack } from '../harness/stack';

const CONFIG = path.resolve(__dirname, '../../config');
const SEED_SCENARIOS = ['bedrock-support-agent', 'cross-account-trust', 'github-to-runtime'];

describe('config/scenarios', () => {
  const templates = new Map<string, ResolvedTemplate>();
  beforeAll(async () => {
    for (const s of loadScenarios(CONFIG).values()) templates.set(s.name, await scenarioTemplate(s));
  }, 180_000);
  afterAll(() => {
    for (const t of templates.values()) t.dispose();
  });

  it('holds the three scenarios, each a CDK app or a template, with parameters and TTLs', () => {
    const all = loadScenarios(CONFIG);
    expect([...all.keys()]).toEqual(SEED_SCENARIOS);
    expect(all.get('cross-account-trust')?.kind).toBe('app');
    for (const s of all.values()) {
      const t = templates.get(s.name)!;
      expect(s.defaultTtlMs).toBeGreaterThan(0);
      expect(s.maxTtlMs).toBeGreaterThanOrEqual(s.defaultTtlMs);
      expect(Object.keys(t.resourceTypes).length).toBeGreaterThan(3);
      // No CDK bootstrap: no bootstrap bucket, version check or legacy asset parameters.
      expect(t.templateBody).not.toMatch(/cdk-hnb659fds|AssetParameters|BootstrapVersion|CDKMetadata/);
      if (s.kind === 'app') {
        // Lambda code comes from an asset in the demo's own bucket, passed as a parameter.
        expect(t.assets.length).toBeGreaterThan(0);
        expect(t.templateBody).toContain(`"Ref":"${ASSET_BUCKET_PARAMETER}"`);
        for (const a of t.assets) expect(t.templateBody).toContain(a.objectKey);
      }
    }
  });

  it('cross-account-trust: the role SecurityV0-ReadOnly trusts the platform account with an external id and SecurityAudit', () => {
    const t = JSON.parse(templates.get('cross-account-trust')!.templateBody) as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    };
    const roles = Object.values(t.Resources).filter(
      (r) => r.Type === 'AWS::IAM::Role' && r.Properties.RoleName === 'SecurityV0-ReadOnly',
    );
    expect(roles).toHaveLength(1);
    const role = JSON.stringify(roles[0]!.Properties);
    expect(role).toContain('"sts:ExternalId":{"Ref":"ExternalId"}');
    expect(role).toContain('{"Ref":"PlatformAccountId"},":root"');
    expect(role).toContain(':iam::aws:policy/SecurityAudit');
    const types = new Set(Object.values(t.Resources).map((r) => r.Type));
    expect(types).toContain('AWS::Lambda::Function');
    expect(types).toContain('AWS::StepFunctions::StateMachine');
  });

  it('bedrock-support-agent: an agent and a Lambda on Haiku only; the knowledge base only on request', () => {
    type Resource = { Type: string; Condition?: string; Properties: Record<string, unknown> };
    const t = JSON.parse(templates.get('bedrock-support-agent')!.templateBody) as {
      Parameters: Record<string, { Default?: string; AllowedValues?: string[] }>;
      Resources: Record<string, Resource>;
    };
    const of = (type: string) => Object.values(t.Resources).filter((r) => r.Type === type);
    // The SCP of the Sandbox OU leaves Claude 3 Haiku open; the agent and the Lambda use nothing else.
    expect(t.Parameters.ModelId?.AllowedValues).toEqual(['anthropic.claude-3-haiku-20240307-v1:0']);
    const [agent] = of('AWS::Bedrock::Agent');
    expect(agent!.Properties.FoundationModel).toEqual({ Ref: 'ModelId' });
    expect(JSON.stringify(agent!.Properties.ActionGroups)).toContain('"Lambda":{"Fn::GetAtt":');
    const [fn] = of('AWS::Lambda::Function');
    expect(JSON.stringify(fn!.Properties.Environment)).toContain('"MODEL_ID":{"Ref":"ModelId"}');
    type Statement = { Action: string | string[]; Resource: unknown };
    const statements = [
      ...of('AWS::IAM::Policy').map((r) => r.Properties.PolicyDocument),
      ...of('AWS::IAM::Role').flatMap((r) =>
        ((r.Properties.Policies ?? []) as { PolicyDocument: unknown }[]).map((p) => p.PolicyDocument),
      ),
    ].flatMap((d) => (d as { Statement: Statement[] }).Statement);
    const invoked = statements
      .filter((st) => [st.Action].flat().some((a) => a.startsWith('bedrock:Invoke')))
      .map((st) => JSON.stringify(st.Resource).match(/\{"Ref":"(\w+)"\}\]\]\}$/)?.[1] ?? 'other');
    // The Lambda's and the agent's on the allowed model; the knowledge base's on its embedding model.
    expect(invoked.sort()).toEqual(['EmbeddingModelId', 'ModelId', 'ModelId']);
    // Off by default: a knowledge base needs an embedding model, which that SCP denies.
    expect(t.Parameters.CreateKnowledgeBase?.Default).toBe('false');
    for (const type of ['AWS::Bedrock::KnowledgeBase', 'AWS::Bedrock::DataSource', 'AWS::S3Vectors::Index'])
      expect(of(type).map((r) => r.Condition)).toEqual(['MakeKnowledgeBase']);
  });

  it('passes cfn-lint', () => {
    const cfnLint = stack().tools.cfnLint;
    if (!cfnLint) {
      throw new Error(
        'cfn-lint is not provisioned (no CFN_LINT_PATH in .sv0/stack.env): run `bash scripts/stack.sh provision`',
      );
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sv0-lint-'));
    const files = [...templates].map(([name, t]) => {
      const file = path.join(dir, `${name}.json`);
      writeFileSync(file, t.templateBody);
      return file;
    });
    // W3005 (a DependsOn a GetAtt already implies): CDK adds it on purpose to Lambda functions and
    // state machines, so their role's policy exists before they first run.
    const run = spawnSync(cfnLint, ['--format', 'parseable', '--ignore-checks', 'W3005', '--', ...files], {
      encoding: 'utf8',
    });
    expect(run.error, `cannot run ${cfnLint}`).toBeUndefined();
    expect(`${run.stdout}${run.stderr}`.trim()).toBe('');
    expect(run.status).toBe(0);
  });

  it('rejects a bad scenario with file, field and reason', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sv0-scen-'));
    mkdirSync(path.join(dir, 'scenarios', 'templates'), { recursive: true });
    writeFileSync(
      path.join(dir, 'scenarios/templates/t.yaml'),
      'Parameters:\n  PlatformAccountId:\n    Type: String\nResources:\n  B:\n    Type: AWS::S3::Bucket\n',
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

    write('name: demo\ndescription: d\ntemplate: templates/t.yaml\napp: a.ts\ndefaultTtl: 1h\nmaxTtl: 2h\n');
    expect(() => loadScenario(dir, 'demo')).toThrow(/demo\.yaml: template: name either a template or an app/);
    write('name: demo\ndescription: d\napp: missing.ts\ndefaultTtl: 1h\nmaxTtl: 2h\n');
    expect(() => loadScenario(dir, 'demo')).toThrow(/demo\.yaml: app: app file .*missing\.ts not found/);
    write('name: demo\ndescription: d\napp: app.js\ndefaultTtl: 1h\nmaxTtl: 2h\n');
    expect(() => loadScenario(dir, 'demo')).toThrow(/app: an app is a TypeScript file/);
  });
});
