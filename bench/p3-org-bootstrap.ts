/**
 * P3 org bootstrap against moto: the organization of config/ (config/org.yaml, config/budgets.yaml)
 * from an empty moto (cold), then a rerun on the unchanged organization, each as `sv0 org apply
 * --yes` does it: a dry-run workflow for the plan, then (if the plan has steps) the apply workflow
 * with that plan approved. The worker has the production activities and clients
 * (activities/org/index.ts, production poll intervals); every client is watched so the
 * rerun's changing calls (anything but Describe/List/Get) can be counted. Cost Explorer is a thin
 * fake at the SDK-client boundary (moto has none). Targets: cold < 15 s; rerun < 3 s with zero
 * changing calls.
 */
import {
  CreateAnomalyMonitorCommand,
  GetAnomalyMonitorsCommand,
  ListCostAllocationTagsCommand,
  UpdateCostAllocationTagsStatusCommand,
} from '@aws-sdk/client-cost-explorer';
import type { Client } from '@temporalio/client';
import path from 'node:path';
import type { AwsClientConfig } from '../lib/runtime/aws';
import { createOrgBootstrapActivities, orgBootstrapDeps } from '../activities/org';
import { managementAccountId } from '../clients/org/bootstrap';
import { loadBudgetsConfig, loadOrgConfig } from '../lib/runtime/config';
import { TaskQueues, WorkflowIds, WorkflowTypes } from '../lib/names';
import type { OrgBootstrapInput, OrgBootstrapResult } from '../lib/contracts/org';
import { buildDesiredOrg } from '../lib/org/desired';
import type { DesiredOrg } from '../lib/org/types';
import { startMoto } from '../scripts/local-stack';
import { historyProfile, median, secs, type BenchContext, type Benchmark, type Row } from './support';
import { benchTemporal, startBenchWorker } from './temporal';

const CONFIG_DIR = path.resolve(__dirname, '..', 'config');

/**
 * The organization of config/. One change for moto, as in the org bootstrap test: moto's SSO Admin
 * looks AWS managed policies up without their path, so BillingAccess gets a path-less policy.
 */
function seedDesired(): DesiredOrg {
  const org = loadOrgConfig(CONFIG_DIR);
  const desired = buildDesiredOrg(org, loadBudgetsConfig(CONFIG_DIR, org));
  for (const p of desired.identityCenter?.permissionSets ?? []) {
    p.managedPolicies = p.managedPolicies.map((m) =>
      m.replace('policy/job-function/Billing', 'policy/AWSBillingReadOnlyAccess'),
    );
  }
  return desired;
}

/** Every AWS command sent through the watched clients, as `Client:Command`. */
class CallLog {
  calls: string[] = [];
  watch<C>(client: C): C {
    (
      client as unknown as { middlewareStack: { add: (mw: unknown, opts: unknown) => void } }
    ).middlewareStack.add(
      (next: (args: unknown) => Promise<unknown>, context: { clientName?: string; commandName?: string }) =>
        (args: unknown) => {
          this.calls.push(`${context.clientName ?? '?'}:${context.commandName ?? '?'}`);
          return next(args);
        },
      { step: 'initialize', name: 'sv0BenchCallLog' },
    );
    return client;
  }
  changing(): string[] {
    return this.calls.filter((c) => !/:(Describe|List|Get)[A-Za-z]*(Command)?$/.test(c));
  }
}

/** The four Cost Explorer calls the bootstrap makes, answered from memory (moto has no Cost Explorer). */
function fakeCostExplorer(log: CallLog, tagKeys: string[]) {
  const tags = new Map<string, string>();
  const monitors: { MonitorName: string; MonitorDimension: string }[] = [];
  return {
    /** Back to a fresh account (with moto's reset): tags inactive, no monitor. */
    reset() {
      for (const k of tagKeys) tags.set(k, 'Inactive');
      monitors.length = 0;
    },
    send(command: object): Promise<unknown> {
      log.calls.push(`CostExplorerClient:${command.constructor.name}`);
      if (command instanceof ListCostAllocationTagsCommand) {
        const keys = command.input.TagKeys ?? [...tags.keys()];
        return Promise.resolve({
          CostAllocationTags: keys
            .filter((k) => tags.has(k))
            .map((k) => ({ TagKey: k, Status: tags.get(k), Type: 'UserDefined' })),
        });
      }
      if (command instanceof UpdateCostAllocationTagsStatusCommand) {
        for (const s of command.input.CostAllocationTagsStatus ?? [])
          if (s.TagKey) tags.set(s.TagKey, String(s.Status));
        return Promise.resolve({ Errors: [] });
      }
      if (command instanceof GetAnomalyMonitorsCommand) return Promise.resolve({ AnomalyMonitors: monitors });
      if (command instanceof CreateAnomalyMonitorCommand) {
        const m = command.input.AnomalyMonitor!;
        monitors.push({ MonitorName: m.MonitorName!, MonitorDimension: String(m.MonitorDimension) });
        return Promise.resolve({ MonitorArn: `arn:aws:ce::000000000000:anomalymonitor/${monitors.length}` });
      }
      return Promise.reject(new Error(`bench Cost Explorer fake: ${command.constructor.name} is not faked`));
    },
  };
}

/** `sv0 org apply --yes`: plan (dry run), then apply that plan if it has steps. Profiles of both runs' histories. */
async function apply(
  client: Client,
  input: OrgBootstrapInput,
  mgmt: string,
): Promise<{ ms: number; steps: number; applied: number; profile: string }> {
  const run = async (i: OrgBootstrapInput) => {
    const handle = await client.workflow.start(WorkflowTypes.orgBootstrap, {
      workflowId: WorkflowIds.orgBootstrap(mgmt),
      taskQueue: TaskQueues.infra,
      args: [i],
    });
    const result = (await handle.result()) as OrgBootstrapResult;
    // Both runs share the workflow id: pin this run for its history.
    return { handle: client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId), result };
  };
  const started = Date.now();
  const plan = await run({ ...input, dryRun: true });
  const steps = plan.result.plan.steps;
  const applied = steps.length ? await run({ ...input, approvedSteps: steps }) : undefined;
  const ms = Date.now() - started;
  const profile = [`plan: ${historyProfile((await plan.handle.fetchHistory()).events ?? [])}`];
  if (applied) profile.push(`apply: ${historyProfile((await applied.handle.fetchHistory()).events ?? [])}`);
  return {
    ms,
    steps: steps.length,
    applied: applied?.result.applied.length ?? 0,
    profile: profile.join('; '),
  };
}

export const p3: Benchmark = {
  id: 'P3',
  title: 'org bootstrap against moto: cold and rerun',
  method:
    'As `sv0 org apply --yes`: a dry-run orgBootstrapWorkflow for the plan, then the apply with that plan approved (skipped when the plan is empty). Production activities and clients (orgBootstrapDeps, production poll intervals) against moto 5.2 with AWS managed policies loaded, reset before each cold run; Cost Explorer is a thin fake at the SDK-client boundary (moto has none). Changing calls = anything but Describe/List/Get sent through the watched clients during the rerun.',
  capMs: { full: 2 * 60_000, quick: 2 * 60_000 },
  async run(ctx: BenchContext) {
    const rounds = ctx.quick ? 1 : 3;
    // Without AWS managed policies moto refuses to attach SecurityAudit or AdministratorAccess.
    const before = process.env.MOTO_IAM_LOAD_MANAGED_POLICIES;
    process.env.MOTO_IAM_LOAD_MANAGED_POLICIES = 'true';
    const moto = await startMoto(ctx.tools).finally(() => {
      if (before === undefined) delete process.env.MOTO_IAM_LOAD_MANAGED_POLICIES;
      else process.env.MOTO_IAM_LOAD_MANAGED_POLICIES = before;
    });
    ctx.cleanup.add('moto', () => moto.stop());
    const aws: AwsClientConfig = {
      region: 'us-east-1',
      endpoint: moto.endpoint,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    };
    const t = await benchTemporal(ctx);
    const desired = seedDesired();
    const log = new CallLog();
    const ce = fakeCostExplorer(log, desired.cost.allocationTags);
    const deps = orgBootstrapDeps(aws);
    const watchedIam = deps.iamFor;
    const activities = createOrgBootstrapActivities({
      ...deps,
      organizations: log.watch(deps.organizations),
      sts: log.watch(deps.sts),
      budgets: log.watch(deps.budgets),
      ssoAdmin: log.watch(deps.ssoAdmin),
      identityStore: log.watch(deps.identityStore),
      ce,
      iamFor: async (id) => log.watch(await watchedIam(id)),
    });
    await startBenchWorker(ctx, t, { taskQueue: TaskQueues.infra, activities });

    const cold: number[] = [];
    const rerun: number[] = [];
    const changing: number[] = [];
    let steps = 0;
    let applied = 0;
    let rerunSteps = 0;
    let coldProfile = '';
    let rerunProfile = '';
    for (let r = 0; r < rounds && !ctx.signal.aborted; r++) {
      const reset = await fetch(`${moto.endpoint}/moto-api/reset`, { method: 'POST' });
      if (!reset.ok) throw new Error(`moto reset: HTTP ${reset.status}`);
      ce.reset();
      const mgmt = await managementAccountId(aws);
      const first = await apply(t.client, { desired }, mgmt);
      cold.push(first.ms);
      steps = first.steps;
      applied = first.applied;
      coldProfile = first.profile;
      log.calls = [];
      const second = await apply(t.client, { desired }, mgmt);
      rerun.push(second.ms);
      rerunSteps = Math.max(rerunSteps, second.steps);
      changing.push(log.changing().length);
      rerunProfile = second.profile;
      ctx.log(
        `round ${r}: cold ${secs(first.ms)} (${first.steps} steps), rerun ${secs(second.ms)} (${second.steps} steps, ${log.calls.length} calls, changing: ${log.changing().join(' ') || 'none'})`,
      );
    }
    const coldMs = median(cold);
    const rerunMs = median(rerun);
    const maxChanging = Math.max(...changing);
    const rows: Row[] = [
      {
        id: 'P3',
        what: 'org bootstrap from an empty moto (the organization of config/), plan + apply',
        target: '< 15 s',
        measured: secs(coldMs),
        pass: coldMs < 15_000 && applied === steps && steps > 0,
        notes: `median of ${cold.length} (${cold.map((x) => secs(x)).join(', ')}); ${steps} steps planned, ${applied} applied; Cost Explorer faked (moto has none); last run: ${coldProfile}`,
      },
      {
        id: 'P3',
        what: 'rerun on the unchanged organization (plan finds nothing)',
        target: '< 3 s, 0 changing calls',
        measured: `${secs(rerunMs)}, ${maxChanging} changing calls`,
        pass: rerunMs < 3000 && maxChanging === 0 && rerunSteps === 0,
        notes: `median of ${rerun.length} (${rerun.map((x) => secs(x)).join(', ')}); ${rerunSteps} steps planned; last run: ${rerunProfile}`,
      },
    ];
    return rows;
  },
};
