/**
 * The VM deployment of README.md, end to end, on the PostgreSQL-backed Temporal server the compose
 * file describes (test/harness/deployment.ts starts it; the suite's one production stack): the
 * namespace job's search attributes, two workers, the worker image as the compose file's worker
 * service under Podman and a `node` process; `sv0 org apply` into moto, `sv0 up` once; then one flow of each family
 * through the CLI, with a worker killed in the middle of a connector run and of a demo's wait,
 * PostgreSQL and the Temporal server restarted while demos wait, the Web UI server in chromium, a
 * backup restored into a fresh PostgreSQL, a budget freeze and its audited unfreeze, and `sv0
 * doctor`. The frontend requires mutual TLS: the workers and the CLI connect with Temporal's
 * TEMPORAL_TLS_* settings. Each phase is a test of its own, in order, so a failure names its phase.
 */
import { CreateBudgetCommand, DeleteBudgetCommand, BudgetsClient } from '@aws-sdk/client-budgets';
import {
  ListAccountsCommand,
  ListPoliciesForTargetCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { searchAttributeStatus } from '../../clients/search-attributes';
import type { DemoSummary } from '../../lib/contracts/demo';
import {
  ContainerLabels,
  FREEZE_POLICY_NAME,
  ScheduleIds,
  SearchAttributes,
  TaskQueues,
  WorkflowIds,
  WorkflowTypes,
} from '../../lib/names';
import { sv0 } from '../harness/cli';
import {
  dumpDatabases,
  restoreDatabases,
  SECOND_BUILD,
  secondBuild,
  startDeployment,
  type DeployedWorker,
  type Deployment,
} from '../harness/deployment';
import { testDocker } from '../harness/docker';
import { eventually } from '../harness/demo-fixture';
import { registerLogs, registerSecrets } from '../harness/secret-registry';
import { stack } from '../harness/stack';

const MANAGEMENT_ACCOUNT = '123456789012';

describe('the VM deployment on the PostgreSQL-backed server with mTLS, two workers (image and node)', () => {
  let d: Deployment;
  const savedEnv = { ...process.env };

  /** `sv0 <args>` against the deployment, with the operator's environment (AWS = moto). */
  const cli = (...args: string[]) => sv0(...args, ...d.cliArgs());
  const json = <T>(out: { stdout: string }) => JSON.parse(out.stdout) as T;

  /**
   * Start a demo of `ttl` through the CLI and wait until it runs; resolves with its expiry (ms).
   * cross-account-trust (a CDK app, synthesized by the CLI and again by the worker) fixes its
   * role's name, so one of it lives in the account at a time.
   */
  async function startRunningDemo(
    id: string,
    ttl: string,
    scenario = 'cross-account-trust',
  ): Promise<number> {
    const started = await cli(
      'demo',
      'start',
      scenario,
      '--ttl',
      ttl,
      '--id',
      id,
      '--owner',
      'demo-script',
      '--json',
    );
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    await eventually(async () => {
      const status = await cli('demo', 'status', id, '--json');
      return json<{ phase?: string }>(status).phase === 'running';
    }, `demo ${id} running`);
    return Date.parse(json<{ expiresAt: string }>(started).expiresAt);
  }

  /** The connector's sync runs, found by its custom search attribute in SQL visibility. */
  async function connectorRuns(): Promise<string[]> {
    const runs: string[] = [];
    for await (const wf of d.client().workflow.list({
      query: `${SearchAttributes.connector} = "${d.connector}" AND WorkflowType = "${WorkflowTypes.connectorSync}"`,
    }))
      runs.push(wf.status.name);
    return runs;
  }

  /** The demo ends destroyed, after its TTL and within two minutes of it. */
  async function expectTornDownOnTime(id: string, expiresAt: number): Promise<void> {
    const handle = d.client().workflow.getHandle(WorkflowIds.demo(id));
    const summary = (await handle.result()) as DemoSummary;
    expect(summary.phase).toBe('destroyed');
    const lateMs = (await handle.describe()).closeTime!.getTime() - expiresAt;
    expect(lateMs, `demo ${id} torn down ${lateMs} ms after its TTL`).toBeGreaterThanOrEqual(0);
    expect(lateMs, `demo ${id} torn down ${lateMs} ms after its TTL`).toBeLessThanOrEqual(120_000);
  }

  beforeAll(async () => {
    d = await startDeployment();
    registerSecrets(d.opToken);
    // The in-process CLI reads AWS and the container engine from the environment, as on the VM.
    Object.assign(process.env, d.env);
  }, 600_000);

  afterAll(async () => {
    process.env = savedEnv;
    if (!d) return;
    const docker = testDocker();
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`${ContainerLabels.connector}=${d.connector}`] },
    });
    for (const c of left) await docker.getContainer(c.Id).remove({ force: true });
    if (d.image.running) registerLogs(await d.image.logs());
    await d.stop();
  }, 120_000);

  it('the namespace job registered every search attribute of lib/names.ts with its type', async () => {
    const status = await searchAttributeStatus(d.client().connection, d.prod.namespace);
    expect(status.missing).toEqual([]);
    expect(status.wrongType).toEqual([]);
    expect(status.present).toHaveLength(7);
  });

  it("the image worker, as the compose file's worker service with its secret, polls both task queues and reaches the container engine", async () => {
    const pollers = async (taskQueue: string) =>
      (
        await d.client().workflowService.describeTaskQueue({
          namespace: d.prod.namespace,
          taskQueue: { name: taskQueue },
          taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        })
      ).pollers ?? [];
    // Two workers poll: the node worker, by its identity, and the image.
    for (const queue of [TaskQueues.infra, TaskQueues.connectors])
      await eventually(
        async () => (await pollers(queue)).some((p) => p.identity !== d.node.identity),
        `the image worker polling ${queue}`,
        90_000,
      );
    const logs = await d.image.logs();
    expect(logs).toContain('sv0 worker polling');
    expect(logs).not.toContain(d.opToken);
    // The worker's user (uid 1000) reaches the engine's API through the mounted socket, as the
    // compose file's group_add lets it.
    const ping = await d.image.exec([
      'node',
      '-e',
      "require('http').get({ socketPath: process.env.DOCKER_HOST.slice(7), path: '/_ping' }, (r) => { process.stdout.write(`${process.getuid()} ${r.statusCode}`); process.exit(0); }).on('error', (e) => { process.stdout.write(e.message); process.exit(1); })",
    ]);
    expect(ping).toEqual({ exitCode: 0, output: '1000 200' });
  });

  it('org apply: the organization of config/org.yaml lands in moto', async () => {
    const applied = await cli('org', 'apply', '--yes', '--json');
    expect(applied.stderr).not.toMatch(/error|failed/i);
    expect(applied.code).toBe(0);
    expect(json<{ applied: unknown[] }>(applied).applied.length).toBeGreaterThan(0);
    const accounts = await new OrganizationsClient(d.aws).send(new ListAccountsCommand({}));
    expect(accounts.Accounts?.map((a) => a.Name)).toEqual(
      expect.arrayContaining(['sv0-platform', 'sv0-demo', 'sv0-security-tooling']),
    );
  }, 300_000);

  it('sv0 up, once: every step passes', async () => {
    const up = await cli('up', '--enable-destructive', '--json');
    const report = json<{ ok: boolean; steps: { step: string; ok: boolean; error?: string }[] }>(up);
    expect(report.steps.filter((s) => !s.ok)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(up.code).toBe(0);
  }, 120_000);

  it('sv0 up, once, on a namespace just created: it waits until the server uses the attributes it registers', async () => {
    const namespace = 'deploy-fresh';
    await d.client().workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs('1 day'),
    });
    // A new namespace takes a few seconds to reach every service of the server.
    await eventually(
      async () => (await d.client().workflowService.describeNamespace({ namespace })).namespaceInfo,
      'the new namespace described',
    );
    const up = await sv0(
      'up',
      '--enable-destructive',
      '--json',
      ...['--address', d.prod.address, '--namespace', namespace, '--config-dir', d.configDir],
    );
    const report = json<{ ok: boolean; steps: { step: string; ok: boolean; detail?: string }[] }>(up);
    expect(report.steps.filter((s) => !s.ok)).toEqual([]);
    expect(report.steps[0]).toMatchObject({ step: 'search attributes', ok: true });
    expect(report.steps[0]?.detail).toMatch(/^registered Sv0Connector, /);
    expect(up.code).toBe(0);
  }, 180_000);

  it('a scheduled connector run: the worker running it is killed, the other finishes it, one container at a time', async () => {
    const docker = testDocker();
    const containers = () =>
      docker.listContainers({
        all: true,
        filters: { label: [`${ContainerLabels.connector}=${d.connector}`] },
      });
    let most = 0;
    let watching = true;
    let victim: DeployedWorker | undefined;
    const watcher = (async () => {
      while (watching) {
        most = Math.max(most, (await containers()).length);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    try {
      const run = await cli('connectors', 'run', d.connector, '--json');
      expect(run.code).toBe(0);
      const { workflowId } = json<{ workflowId: string }>(run);
      const handle = d.client().workflow.getHandle(workflowId);
      await d.platform.waitFor(() => d.platform.gateChecks.includes(d.gate), 'the first attempt at its gate');

      // The worker that runs the attempt dies without a chance to clean up.
      const pending = await eventually(async () => {
        const activity = (await handle.describe()).raw.pendingActivities?.[0];
        return activity?.lastWorkerIdentity ? activity : undefined;
      }, 'the sync activity started');
      victim = pending.lastWorkerIdentity === d.node.identity ? d.node : d.image;
      await victim.kill();

      // Temporal hands attempt 2 to the other worker at the heartbeat timeout; it removes the
      // orphan before it starts its own container.
      await eventually(
        async () => (await containers()).some((c) => c.Labels[ContainerLabels.attempt] === '2'),
        'the second attempt running',
        120_000,
      );
      d.platform.openGate(d.gate);
      const result = (await handle.result()) as { exitCode: number; attempt: number };
      expect(result).toMatchObject({ exitCode: 0, attempt: 2 });
      await eventually(async () => (await containers()).length === 0, 'no container left');
    } finally {
      watching = false;
      await watcher;
      // Both workers again for the phases that follow, also when this one failed.
      if (victim && !victim.running) await victim.start();
    }
    expect(most).toBe(1);
    // Exactly one run of the schedule, completed once.
    const schedule = await d.client().schedule.getHandle(ScheduleIds.connector(d.connector)).describe();
    expect(schedule.info.recentActions).toHaveLength(1);
    expect(await connectorRuns()).toEqual(['COMPLETED']);
  }, 300_000);

  it('demos wait through a worker kill, a PostgreSQL restart and a server restart, then are torn down on time', async () => {
    const ids = ['deploy-a', 'deploy-b'];
    const expiresAt = new Map<string, number>();
    expiresAt.set('deploy-a', await startRunningDemo('deploy-a', '1m'));
    expiresAt.set('deploy-b', await startRunningDemo('deploy-b', '1m', 'bedrock-support-agent'));

    // One worker dies while the demos wait; the other carries on.
    await d.node.kill();
    try {
      await d.prod.postgres.stop();
      await d.prod.postgres.start();
      await d.prod.temporal.stop();
      await d.prod.temporal.start();
      await d.reconnect();
      // What SQL visibility held before the restarts is still found by its custom search attribute.
      await eventually(
        async () => (await connectorRuns()).join() === 'COMPLETED',
        'the connector run in visibility after the restarts',
      );

      for (const id of ids) await expectTornDownOnTime(id, expiresAt.get(id)!);
    } finally {
      await d.node.start();
    }
  }, 420_000);

  it('the Web UI server, with starting workflows switched off, opened in chromium, finds the demos by their scenario (search attribute)', async () => {
    expect((await fetch(`${d.prod.uiUrl}/`)).status).toBe(200);
    const settings = (await (await fetch(`${d.prod.uiUrl}/api/v1/settings`)).json()) as Record<
      string,
      unknown
    >;
    expect(settings.StartWorkflowDisabled).toBe(true);
    expect(settings.DefaultNamespace).toBe(d.prod.namespace);
    const chromiumPath = stack().tools.chromium;
    if (!chromiumPath)
      throw new Error('no chromium: run `bash scripts/stack.sh provision` (it installs Debian chromium)');
    const query = encodeURIComponent('Sv0DemoScenario="cross-account-trust"');
    // The UI server's own list API answers the query first: SQL visibility and the UI server's
    // connection to a frontend that was just restarted (the test before) may lag by seconds, and
    // a page that loaded during that lag shows "No Results" and never refreshes by itself.
    const listed = async () => {
      const r = await fetch(`${d.prod.uiUrl}/api/v1/namespaces/${d.prod.namespace}/workflows?query=${query}`);
      return `${r.status} ${(await r.text()).slice(0, 1500)}`;
    };
    await eventually(
      async () => (await listed()).includes(WorkflowIds.demo('deploy-a')),
      "deploy-a in the UI server's list API",
    );
    const browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    try {
      const page = await browser.newPage();
      await page.goto(`${d.prod.uiUrl}/namespaces/${d.prod.namespace}/workflows?query=${query}`);
      const row = page.getByRole('row').filter({ hasText: WorkflowIds.demo('deploy-a') });
      // The page reads the list once; reloaded, as an operator would, when it came up empty.
      for (let attempt = 1; ; attempt++) {
        try {
          await row.first().waitFor({ timeout: 30_000 });
          break;
        } catch (err) {
          if (attempt < 4) {
            await page.reload();
            continue;
          }
          // Say what the page and the API showed, so a failure here can be told apart.
          const shown = (
            await page
              .locator('main')
              .innerText()
              .catch(() => '')
          ).slice(0, 1500);
          throw new Error(
            `${String(err)}\nthe page showed: ${shown}\nthe list API answered: ${await listed()}`,
          );
        }
      }
      expect(await row.first().innerText()).toContain(WorkflowTypes.demoLifecycle);
      // The query selects by scenario: no demo of another scenario, connector run or budget guard.
      expect(
        await page
          .getByRole('row')
          .filter({ hasText: WorkflowIds.demo('deploy-b') })
          .count(),
      ).toBe(0);
      expect(await page.getByText(WorkflowIds.budget('sv0-demo'), { exact: true }).count()).toBe(0);
    } finally {
      await browser.close();
    }
  }, 240_000);

  it("backup and restore: README's pg_dump of both databases, restored into a fresh PostgreSQL, brings back a waiting demo and the schedules", async () => {
    const id = 'deploy-restored';
    const expiresAt = await startRunningDemo(id, '90s');
    const scheduleIds = async () => {
      const ids: string[] = [];
      for await (const s of d.client().schedule.list()) ids.push(s.scheduleId);
      return ids.sort();
    };
    const schedules = await scheduleIds();
    expect(schedules).toContain(ScheduleIds.connector(d.connector));

    await d.prod.temporal.stop();
    const dumps = dumpDatabases(d.prod, d.dir);
    await d.prod.postgres.wipe();
    await d.prod.postgres.start();
    restoreDatabases(d.prod, dumps);
    expect(await d.prod.runJob('temporal-schema')).toMatch(/schemas are up to date/);
    await d.prod.temporal.start();
    await d.reconnect();
    // The namespace job runs again without harm on the restored databases.
    expect(await d.prod.runJob('temporal-admin')).toMatch(/namespace and search attributes are ready/);

    expect((await d.client().workflow.getHandle(WorkflowIds.demo(id)).describe()).status.name).toBe(
      'RUNNING',
    );
    expect(
      await eventually(async () => {
        const now = await scheduleIds();
        return now.length === schedules.length && now;
      }, 'the schedules listed again'),
    ).toEqual(schedules);
    await expectTornDownOnTime(id, expiresAt);
  }, 300_000);

  it('a rolling upgrade: the workers move to a second build (a change behind patched()) one at a time while a demo waits; it and the budget guards carry on', async () => {
    const waiting = 'deploy-rolled';
    const expiresAt = await startRunningDemo(waiting, '1m');
    const root = secondBuild(d.dir);

    // One worker at a time, each stopped as the VM stops it and replaced by the second build.
    await d.node.stop();
    const first = await d.startWorker(root);
    registerLogs(await d.image.logs());
    await d.image.stop();
    const second = await d.startWorker(root);
    const secondBuildIds = [first.identity, second.identity];

    // A demo deployed now takes the changed path; the one that waited through the roll does not.
    const fresh = 'deploy-second-build';
    await startRunningDemo(fresh, '1h', 'bedrock-support-agent');
    const memo = async (id: string) =>
      (await d.client().workflow.getHandle(WorkflowIds.demo(id)).describe()).memo ?? {};
    expect(await memo(fresh)).toMatchObject(SECOND_BUILD.memo);
    expect(await memo(waiting)).not.toHaveProperty(Object.keys(SECOND_BUILD.memo)[0]!);

    // The budget guards answer on the second build.
    const guards = json<{ budget: string; running?: boolean }[]>(await cli('budget', 'status', '--json'));
    expect(guards.map((g) => g.budget)).toContain('sv0-demo');
    expect(guards.filter((g) => g.running === false)).toEqual([]);

    const destroyed = await cli(
      'demo',
      'destroy',
      fresh,
      '--reason',
      'rolling upgrade test',
      '--wait',
      '--json',
    );
    expect(destroyed.code).toBe(0);
    expect(json<{ summary: DemoSummary }>(destroyed).summary.phase).toBe('destroyed');
    await expectTornDownOnTime(waiting, expiresAt);

    // The second build replayed the waiting demo's history without a determinism error, and it
    // is what ran the demo after the roll.
    const history = await d.client().workflow.getHandle(WorkflowIds.demo(waiting)).fetchHistory();
    const events = history.events ?? [];
    expect(events.filter((e) => e.workflowTaskFailedEventAttributes)).toEqual([]);
    const lastTask = events.filter((e) => e.workflowTaskCompletedEventAttributes).at(-1);
    expect(secondBuildIds).toContain(lastTask?.workflowTaskCompletedEventAttributes?.identity);
  }, 420_000);

  it('a budget over its freeze threshold freezes the sandbox account; an approved unfreeze lifts it', async () => {
    const budgets = new BudgetsClient(d.aws);
    // moto takes spend only when a budget is created: recreate sv0-demo's budget over its limit.
    await budgets.send(new DeleteBudgetCommand({ AccountId: MANAGEMENT_ACCOUNT, BudgetName: 'sv0-demo' }));
    await budgets.send(
      new CreateBudgetCommand({
        AccountId: MANAGEMENT_ACCOUNT,
        Budget: {
          BudgetName: 'sv0-demo',
          BudgetType: 'COST',
          TimeUnit: 'MONTHLY',
          BudgetLimit: { Amount: '200', Unit: 'USD' },
          CalculatedSpend: { ActualSpend: { Amount: '230', Unit: 'USD' } },
        },
      }),
    );
    const organizations = new OrganizationsClient(d.aws);
    const accounts = await organizations.send(new ListAccountsCommand({}));
    const demoAccount = accounts.Accounts!.find((a) => a.Name === 'sv0-demo')!.Id!;
    const freezePolicies = async () =>
      (
        await organizations.send(
          new ListPoliciesForTargetCommand({ TargetId: demoAccount, Filter: 'SERVICE_CONTROL_POLICY' }),
        )
      ).Policies!.filter((p) => p.Name === FREEZE_POLICY_NAME);

    const check = await cli('budget', 'check', 'sv0-demo', '--json');
    expect(check.code).toBe(0);
    await eventually(async () => (await freezePolicies()).length === 1, 'FreezeAccount attached', 120_000);
    const statuses = json<{ budget: string; frozen: boolean }[]>(await cli('budget', 'status', '--json'));
    expect(statuses.find((s) => s.budget === 'sv0-demo')?.frozen).toBe(true);

    const unfrozen = await cli(
      'budget',
      'unfreeze',
      'sv0-demo',
      '--by',
      'ops-lead',
      '--reason',
      'deployment test',
      '--json',
    );
    expect(unfrozen.code).toBe(0);
    const status = json<{ frozen: boolean; audit: { by?: string; reason?: string }[] }>(unfrozen);
    expect(status.frozen).toBe(false);
    expect(status.audit).toEqual(
      expect.arrayContaining([expect.objectContaining({ by: 'ops-lead', reason: 'deployment test' })]),
    );
    expect(await freezePolicies()).toEqual([]);
  }, 300_000);

  it('sv0 doctor is green against the deployment', async () => {
    // The default limit per check is 8 s; a CI machine under load answers slower, and the test is
    // about every check passing, not about how fast.
    const doctor = await cli('doctor', '--json', '--timeout', '30');
    const report = json<{ ok: boolean; checks: { name: string; status: string; detail: string }[] }>(doctor);
    expect(report.checks.filter((c) => c.status === 'fail' || c.status === 'warn')).toEqual([]);
    expect(doctor.code).toBe(0);
  }, 120_000);
});
