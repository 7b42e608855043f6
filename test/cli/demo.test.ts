import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ListStacksCommand } from '@aws-sdk/client-cloudformation';
import { CostExplorerClient } from '@aws-sdk/client-cost-explorer';
import {
  AttachPolicyCommand,
  CreatePolicyCommand,
  DetachPolicyCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DemoInput } from '../../lib/contracts/demo';
import { ErrorType, TaskQueues, WorkflowTypes } from '../../lib/names';
import { motoConfig, motoEnv } from '../harness/aws';
import { startRequestRecorder as recorder, sv0 } from '../harness/cli';
import { stack } from '../harness/stack';
import { runWorker, testEnv, uniqueId } from '../harness/temporal';
import { startWebhookReceiver } from '../harness/webhook';
import { fakeCostExplorer } from '../harness/org-fixtures';
import {
  accountClients,
  CONFIG_DIR,
  demoInput,
  demoTestActivities,
  scheduledActivities,
  eventually,
  setUpDemoOrg,
  type DemoOrg,
} from '../harness/demo-fixture';

const ENV_KEYS = [
  'AWS_ENDPOINT_URL',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_REGION',
  'SV0_OWNER',
] as const;
const savedEnv = { ...process.env };
// The owner of demos started without --owner, as an operator sets it: one config/org.yaml declares.
beforeEach(() => {
  process.env.SV0_OWNER = 'demo-script';
});
afterEach(() => {
  for (const k of ENV_KEYS) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
});

describe('sv0 demo: bad input is refused before any AWS or Temporal call', () => {
  it.each([
    [['demo', 'start', 'cross-account-trust', '--ttl', '4 hours'], '--ttl: "4 hours" is not a duration'],
    [
      ['demo', 'start', 'cross-account-trust', '--ttl', '2d'],
      '--ttl 2d: scenario cross-account-trust allows at most 24h',
    ],
    [
      ['demo', 'start', 'no-such-scenario'],
      'no scenario "no-such-scenario"; known: bedrock-support-agent, cross-account-trust, github-to-runtime',
    ],
    [
      ['demo', 'start', 'cross-account-trust', '--id', 'Not_Valid'],
      '--id "Not_Valid": use 1-40 lower case letters',
    ],
    [
      ['demo', 'start', 'cross-account-trust', '--owner', 'mallory'],
      '--owner "mallory": not an owner config/org.yaml declares (tagPolicy.values.sv0:owner: ivan, automated, demo-script)',
    ],
    [['demo', 'extend', 'some-demo', '90 minutes'], 'extend: "90 minutes" is not a duration'],
    [['sweep', 'run', '--apply', '--dry-run'], '--apply and --dry-run exclude each other'],
    [['sweep', 'run', '--account', 'prod'], '--account prod: a 12-digit account id'],
  ])('sv0 %j: exit 2 with a clear message', async (args, message) => {
    const aws = await recorder();
    try {
      process.env.AWS_ENDPOINT_URL = aws.url;
      const r = await sv0(...args, '--config-dir', CONFIG_DIR, '--address', '127.0.0.1:1');
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(message);
      expect(aws.requests).toEqual([]);
    } finally {
      await aws.close();
    }
  });
});

describe('sv0 demo start: a CDK app is synthesized before anything starts', () => {
  it('a broken app: exit 2 naming the app file and its error, no AWS or Temporal call', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sv0-broken-app-'));
    cpSync(CONFIG_DIR, dir, { recursive: true });
    const app = path.join(dir, 'scenarios', 'cross-account-trust', 'app.ts');
    writeFileSync(
      app,
      readFileSync(app, 'utf8').replace(
        "roleName: 'SecurityV0-ReadOnly',",
        "roleName: 'SecurityV0-ReadOnly',\n    maxSessionDuration: Duration.minutes(5),",
      ),
    );
    const aws = await recorder();
    try {
      process.env.AWS_ENDPOINT_URL = aws.url;
      const r = await sv0(
        'demo',
        'start',
        'cross-account-trust',
        '--config-dir',
        dir,
        '--address',
        '127.0.0.1:1',
      );
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${app} does not synthesize:`);
      expect(r.stderr).toMatch(/maxSessionDuration is set to 300, but must be >= 3600sec/);
      expect(aws.requests).toEqual([]);
    } finally {
      await aws.close();
    }
  }, 60_000);
});

describe('sv0 demo against moto and the dev server', () => {
  let env: TestWorkflowEnvironment;
  let org: DemoOrg;
  let webhook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  const temporal = (configDir = CONFIG_DIR) => [
    '--address',
    stack().temporalAddress,
    '--namespace',
    stack().namespace,
    '--config-dir',
    configDir,
  ];

  /**
   * Starts a demo lifecycle on sv0-infra past the CLI, as any other client could, and waits for
   * the worker to fail it: the root cause (workflow failed <- activity failed <- the activity's
   * ApplicationFailure) and the activities the workflow scheduled.
   */
  const startPastTheCli = async (input: DemoInput) => {
    const handle = await env.client.workflow.start(WorkflowTypes.demoLifecycle, {
      taskQueue: TaskQueues.infra,
      workflowId: `demo-${input.id}`,
      args: [input],
    });
    const failure = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    let cause = failure as { cause?: unknown; type?: string; message: string };
    while (cause.cause) cause = cause.cause as typeof cause;
    return { cause, scheduled: scheduledActivities((await handle.fetchHistory()).events) };
  };

  beforeAll(async () => {
    env = await testEnv();
    org = await setUpDemoOrg();
    webhook = await startWebhookReceiver();
  });
  afterAll(async () => {
    await webhook?.close();
  });
  // The CLI reaches moto as an operator's shell would, through AWS_* (restored after each test).
  beforeEach(() => {
    Object.assign(process.env, motoEnv());
  });

  it('start --json, list (by time left), status --json (phase, expiresAt), extend, rejected extend (exit 2), destroy', async () => {
    const id = uniqueId('cli');
    const other = uniqueId('cli');
    // `sv0 demo start` starts on sv0-infra: a worker with the demo activities runs there meanwhile.
    await runWorker(
      { env, taskQueue: TaskQueues.infra, activities: demoTestActivities(env, webhook) },
      async () => {
        const started = await sv0(
          'demo',
          'start',
          'cross-account-trust',
          '--ttl',
          '2h',
          '--id',
          id,
          '--owner',
          'ivan',
          '--json',
          ...temporal(),
        );
        expect(started.stderr).toBe('');
        expect(started.code).toBe(0);
        expect(JSON.parse(started.stdout)).toMatchObject({
          id,
          workflowId: `demo-${id}`,
          owner: 'ivan',
          accountId: org.demoAccountId,
        });
        expect(
          (
            await sv0(
              'demo',
              'start',
              'bedrock-support-agent',
              '--ttl',
              '1h',
              '--id',
              other,
              '--json',
              ...temporal(),
            )
          ).code,
        ).toBe(0);
        // A second start with the same id is refused.
        const again = await sv0('demo', 'start', 'bedrock-support-agent', '--id', id, ...temporal());
        expect(again.code).toBe(2);
        expect(again.stderr).toContain('already exists');

        const status = await eventually(async () => {
          const r = await sv0('demo', 'status', id, '--json', ...temporal());
          const s = JSON.parse(r.stdout || '{}') as { phase?: string; expiresAt?: string };
          return s.phase === 'running' ? s : undefined;
        }, 'demo running');
        expect(Date.parse(status.expiresAt!)).toBeGreaterThan(Date.now());

        const listed = await eventually(async () => {
          const rows = JSON.parse((await sv0('demo', 'list', '--json', ...temporal())).stdout) as {
            id: string;
          }[];
          const ours = rows.map((r) => r.id).filter((x) => x === id || x === other);
          return ours.length === 2 ? ours : undefined;
        }, 'both demos listed');
        expect(listed).toEqual([other, id]); // 1h left before 2h left
        // cross-account-trust fixes its role's name: a second live demo in the account is refused.
        const second = await sv0('demo', 'start', 'cross-account-trust', ...temporal());
        expect(second.code).toBe(2);
        expect(second.stderr).toContain(
          `demo ${id} of scenario cross-account-trust is live in sv0-demo and holds the fixed role name SecurityV0-ReadOnly`,
        );

        const extended = await sv0('demo', 'extend', id, '1h', '--json', ...temporal());
        expect(extended.code).toBe(0);
        expect(Date.parse(JSON.parse(extended.stdout).expiresAt) - Date.parse(status.expiresAt!)).toBe(
          3_600_000,
        );
        const rejected = await sv0('demo', 'extend', id, '1d', ...temporal());
        expect(rejected.code).toBe(2);
        expect(rejected.stderr).toContain('past its maximum');

        for (const x of [id, other]) {
          const destroyed = await sv0(
            'demo',
            'destroy',
            x,
            '--reason',
            'cli test',
            '--wait',
            '--json',
            ...temporal(),
          );
          expect(destroyed.code).toBe(0);
          expect(JSON.parse(destroyed.stdout).summary).toMatchObject({
            phase: 'destroyed',
            destroyReason: 'cli test',
          });
        }
        const missing = await sv0('demo', 'status', 'no-such-demo', ...temporal());
        expect(missing.code).toBe(1);
      },
    );
  });

  it('sweep run is a dry run by default and lists what it would delete', async () => {
    await runWorker(
      { env, taskQueue: TaskQueues.infra, activities: demoTestActivities(env, webhook) },
      async () => {
        const r = await sv0('sweep', 'run', '--json', ...temporal());
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        const result = JSON.parse(r.stdout) as {
          apply: boolean;
          accounts: { accountId: string; deleted: unknown[] }[];
        };
        expect(result.apply).toBe(false);
        expect(result.accounts).toEqual([
          expect.objectContaining({ accountId: org.demoAccountId, deleted: [] }),
        ]);
      },
    );
  });
  it('a demo in a frozen account is refused: by `sv0 demo start` before any AWS change (exit 1, naming the budget and the unfreeze), and by the worker on its own', async () => {
    const orgs = new OrganizationsClient(motoConfig());
    const policy = await orgs.send(
      new CreatePolicyCommand({
        Name: 'FreezeAccount',
        Description: 'budget freeze',
        Type: 'SERVICE_CONTROL_POLICY',
        Content: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Deny', Action: '*', Resource: '*' }],
        }),
      }),
    );
    const PolicyId = policy.Policy!.PolicySummary!.Id!;
    await orgs.send(new AttachPolicyCommand({ PolicyId, TargetId: org.demoAccountId }));
    const stacks = async () =>
      (await accountClients(org.demoAccountId).cloudformation.send(new ListStacksCommand({})))
        .StackSummaries ?? [];
    const before = (await stacks()).length;
    try {
      await runWorker(
        { env, taskQueue: TaskQueues.infra, activities: demoTestActivities(env, webhook) },
        async () => {
          const id = uniqueId('frozen');
          const r = await sv0('demo', 'start', 'cross-account-trust', '--id', id, ...temporal());
          expect(r.code).toBe(1);
          expect(r.stderr).toContain(`account sv0-demo (${org.demoAccountId}) is frozen by budget sv0-demo`);
          expect(r.stderr).toContain('`sv0 budget unfreeze sv0-demo --by WHO --reason TEXT`');
          await expect(env.client.workflow.getHandle(`demo-${id}`).describe()).rejects.toBeInstanceOf(
            WorkflowNotFoundError,
          );

          // Started by another client, past the CLI: the worker's first activity refuses it.
          const { cause, scheduled } = await startPastTheCli(
            demoInput(org, { id: uniqueId('frozen'), ttlMs: 3_600_000 }),
          );
          expect(cause.type).toBe(ErrorType.AccountFrozen);
          expect(cause.message).toContain(`account sv0-demo (${org.demoAccountId}) is frozen`);
          expect(scheduled).toEqual(['checkDemoTarget']);
        },
      );
      expect((await stacks()).length).toBe(before);
    } finally {
      await orgs.send(new DetachPolicyCommand({ PolicyId, TargetId: org.demoAccountId }));
    }
  });
  it('forecastAction: block-demos refuses new demos while Cost Explorer forecasts the month past the budget (Cost Explorer through the thin fake at the SDK-client boundary): `sv0 demo start` exits 1 naming the budget, the forecast and what to do, the worker refuses a forged start from its own reading, and a running demo is not touched', async () => {
    // The operator's and the worker's config folder: sv0-demo's budget ($200) blocks demos on its forecast.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sv0-forecast-'));
    cpSync(CONFIG_DIR, dir, { recursive: true });
    const budgetsFile = path.join(dir, 'budgets.yaml');
    const budgetsYaml = readFileSync(budgetsFile, 'utf8');
    expect(budgetsYaml).toContain('    freezeAt: 100\n');
    writeFileSync(
      budgetsFile,
      budgetsYaml.replace('    freezeAt: 100\n', '    freezeAt: 100\n    forecastAction: block-demos\n'),
    );
    // A scenario of one queue: a template deploys without a synth, whatever the machine's load.
    writeFileSync(
      path.join(dir, 'scenarios', 'forecast-queue.json'),
      JSON.stringify({ Resources: { Queue: { Type: 'AWS::SQS::Queue' } } }),
    );
    writeFileSync(
      path.join(dir, 'scenarios', 'forecast-queue.yaml'),
      'name: forecast-queue\ndescription: one queue\ntemplate: forecast-queue.json\ndefaultTtl: 1h\nmaxTtl: 1d\n',
    );
    // Nothing spent before today, so the month's forecast is Cost Explorer's forecast alone on any day.
    const cost = fakeCostExplorer([]);
    cost.state.forecast = 150;
    // The CLI builds its own Cost Explorer client: its requests go to the same fake.
    const ceSend = vi
      .spyOn(CostExplorerClient.prototype, 'send')
      .mockImplementation(((command: object) => cost.ce.send(command)) as never);
    const status = async (id: string) =>
      JSON.parse((await sv0('demo', 'status', id, '--json', ...temporal(dir))).stdout || '{}') as {
        phase?: string;
      };
    const month = new Date().toISOString().slice(0, 7);
    try {
      await runWorker(
        {
          env,
          taskQueue: TaskQueues.infra,
          activities: demoTestActivities(env, webhook, { ce: cost.ce, configDir: dir }),
        },
        async () => {
          // $150 of $200: the demo starts; the CLI and then the worker read the account's forecast.
          const running = uniqueId('forecast');
          const started = await sv0(
            'demo',
            'start',
            'forecast-queue',
            '--id',
            running,
            '--ttl',
            '1h',
            ...temporal(dir),
          );
          expect(started.stderr).toContain(`demo ${running} started`);
          expect(started.code).toBe(0);
          await eventually(async () => (await status(running)).phase === 'running', 'demo running');
          expect(cost.state.forecastQueries.map((q) => q.Filter)).toEqual([
            expect.objectContaining({
              And: [
                { Dimensions: { Key: 'LINKED_ACCOUNT', Values: [org.demoAccountId] } },
                expect.objectContaining({ Not: expect.anything() }),
              ],
            }),
            expect.anything(),
          ]);

          // $210 of $200: refused before any workflow starts.
          cost.state.forecast = 210;
          const id = uniqueId('forecast');
          const r = await sv0('demo', 'start', 'forecast-queue', '--id', id, ...temporal(dir));
          expect(r.code).toBe(1);
          expect(r.stderr).toContain(
            `budget sv0-demo: Cost Explorer forecasts $210.00 for ${month}, 105 % of $200.00`,
          );
          expect(r.stderr).toContain(
            `forecastAction: block-demos, so no new demo starts in sv0-demo (${org.demoAccountId})`,
          );
          expect(r.stderr).toContain('set forecastAction: off in budgets.yaml');
          await expect(env.client.workflow.getHandle(`demo-${id}`).describe()).rejects.toBeInstanceOf(
            WorkflowNotFoundError,
          );

          // Forged past the CLI, its target naming another account: the worker reads the account's
          // live name, its own budgets.yaml and the forecast, and refuses before anything changes.
          const forged = demoInput(org, {
            id: uniqueId('forecast'),
            scenario: 'bedrock-support-agent',
            ttlMs: 3_600_000,
          });
          const { cause, scheduled } = await startPastTheCli({
            ...forged,
            target: { ...forged.target, accountName: 'sv0-platform' },
          });
          expect(cause.type).toBe(ErrorType.ForecastOverBudget);
          expect(cause.message).toContain(`budget sv0-demo: Cost Explorer forecasts $210.00 for ${month}`);
          expect(scheduled).toEqual(['checkDemoTarget']);

          // The running demo is not touched.
          expect((await status(running)).phase).toBe('running');
          const destroyed = await sv0(
            'demo',
            'destroy',
            running,
            '--reason',
            'forecast test',
            '--wait',
            ...temporal(dir),
          );
          expect(destroyed.code).toBe(0);
        },
      );
    } finally {
      ceSend.mockRestore();
    }
  });
});
