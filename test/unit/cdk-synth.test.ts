import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { synthesizeApp, SynthError } from '../../lib/runtime/cdk/synth';
import { ConfigError } from '../../lib/config/validate';
import { loadScenario, scenarioTemplate } from '../../lib/runtime/config';

/** A scenario folder outside the project, with one app (aws-cdk-lib still resolves from the project). */
function scenarioWithApp(app: string, extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sv0-app-'));
  mkdirSync(path.join(dir, 'scenarios', 'demo', 'code'), { recursive: true });
  writeFileSync(path.join(dir, 'scenarios', 'demo', 'app.ts'), app);
  for (const [file, body] of Object.entries(extra))
    writeFileSync(path.join(dir, 'scenarios', 'demo', file), body);
  writeFileSync(
    path.join(dir, 'scenarios', 'demo.yaml'),
    'name: demo\ndescription: d\napp: demo/app.ts\ndefaultTtl: 1h\nmaxTtl: 2h\n',
  );
  return dir;
}

const STACK_WITH_ASSET = `
import path from 'node:path';
import { App, Stack, aws_lambda as lambda } from 'aws-cdk-lib';
export default function (app: App) {
  const stack = new Stack(app, 'Demo');
  new lambda.Function(stack, 'Fn', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromAsset(path.join(__dirname, 'code')),
  });
}
`;

describe('demo apps: synthesis in a child process', () => {
  const disposers: (() => void)[] = [];
  afterEach(() => disposers.splice(0).forEach((d) => d()));

  it('synthesizes an app outside the project: one template, a zipped asset in the demo bucket', async () => {
    const dir = scenarioWithApp(STACK_WITH_ASSET, { 'code/index.js': 'exports.handler = async () => 1;\n' });
    const t = await scenarioTemplate(loadScenario(dir, 'demo'));
    disposers.push(t.dispose);
    expect(t.resourceTypes).toMatchObject({});
    expect(Object.values(t.resourceTypes)).toContain('AWS::Lambda::Function');
    expect(t.assets).toHaveLength(1);
    expect(t.assets[0]).toMatchObject({ packaging: 'zip', objectKey: `${t.assets[0]!.id}.zip` });
    expect(JSON.parse(t.templateBody).Parameters).toHaveProperty('Sv0AssetBucket');
  }, 60_000);

  it('gives the app no AWS keys, tokens or other variables of the parent', async () => {
    const before = { ...process.env };
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: 'AKIAPARENTKEY0000000',
      AWS_SECRET_ACCESS_KEY: 'parent-secret-value',
      OP_SERVICE_ACCOUNT_TOKEN: 'ops_parent_token',
      SOPS_AGE_KEY_FILE: '/parent/age.key',
    });
    try {
      const dir = scenarioWithApp(`
import { App, Stack, CfnOutput } from 'aws-cdk-lib';
export default function (app: App) {
  const stack = new Stack(app, 'Demo');
  new CfnOutput(stack, 'Env', { value: Object.keys(process.env).sort().join(' ') });
}
`);
      const synth = await synthesizeApp(path.join(dir, 'scenarios', 'demo', 'app.ts'));
      disposers.push(synth.dispose);
      const seen = (JSON.parse(synth.templateBody) as { Outputs: { Env: { Value: string } } }).Outputs.Env
        .Value;
      expect(
        seen
          .split(' ')
          .filter((k) => !/^(PATH|HOME|TMPDIR|NODE_PATH|SV0_SYNTH_\w+|CDK_\w+|JSII_\w+)$/.test(k)),
      ).toEqual([]);
      expect(seen).not.toMatch(/AWS|TOKEN|SOPS/);
    } finally {
      process.env = before;
    }
  }, 60_000);

  it('a broken app is a ConfigError naming the scenario file, the app file and its error', async () => {
    const dir = scenarioWithApp(`
import { App, Stack } from 'aws-cdk-lib';
export default function (app: App) {
  new Stack(app, 'Demo');
  throw new Error('the claims table needs a partition key');
}
`);
    const err = await scenarioTemplate(loadScenario(dir, 'demo')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(String(err)).toMatch(
      /demo\.yaml: app: .*scenarios\/demo\/app\.ts does not synthesize: the claims table needs a partition key/,
    );
  }, 60_000);

  it('refuses an app without a default export, with two stacks, with a syntax error, or with a Docker asset', async () => {
    const reasons: string[] = [];
    for (const app of [
      `export const x = 1;`,
      `import { App, Stack } from 'aws-cdk-lib';\nexport default (app: App) => { new Stack(app, 'A'); new Stack(app, 'B'); };`,
      `export default function (app: App) { const = ; }`,
      `import { App, Stack, aws_ecr_assets as ecr } from 'aws-cdk-lib';\nexport default (app: App) => { new ecr.DockerImageAsset(new Stack(app, 'A'), 'I', { directory: __dirname }); };`,
    ]) {
      const dir = scenarioWithApp(app, { Dockerfile: 'FROM scratch\n' });
      const err = await synthesizeApp(path.join(dir, 'scenarios', 'demo', 'app.ts')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SynthError);
      reasons.push((err as Error).message);
    }
    expect(reasons[0]).toMatch(/export a default function/);
    expect(reasons[1]).toMatch(/defines 2 stacks \(A, B\)/);
    expect(reasons[2]).toMatch(/Expected|Unexpected/);
    expect(reasons[3]).toMatch(/Docker image assets are not supported/);
    for (const r of reasons) expect(r.length).toBeLessThan(700);
  }, 120_000);
});
