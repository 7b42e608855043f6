import { createInterface } from 'node:readline/promises';
import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowFailedError } from '@temporalio/client';
import type { Command } from 'commander';
import { resolveConfigDir } from '../../lib/config/load';
import { TaskQueues, WorkflowIds, WorkflowTypes } from '../../lib/names';
import { waves } from '../../lib/org/plan';
import type { OrgPlan } from '../../lib/org/types';
import {
  type OrgBootstrapInput,
  type OrgBootstrapResult,
  type OrgProgress,
  orgProgressQuery,
} from '../../lib/contracts/org';
import type { GlobalOptions } from '../cli';
import { buildOrgBootstrapInput, managementAccountId } from '../org';
import { CliError, ExitCode, printJson, say } from '../output';
import { waitWithProgress } from '../progress';
import { withTemporalClient } from '../temporal';

/** `sv0 org plan|apply`: the org bootstrap (seed §4, §5, §8 Day 1-2) with a plan first. */

type Opts = GlobalOptions & { json?: boolean; yes?: boolean };

function renderProgress(p: OrgProgress): string {
  if (p.phase === 'reading') return 'reading the live organization';
  const running = p.running.length ? `; running ${p.running.join(', ')}` : '';
  return `${p.phase}: ${p.done.length}/${p.total} steps done${running}`;
}

/** Run the bootstrap workflow once (a dry run or an apply) and wait for it, showing its progress. */
async function runBootstrap(
  client: Client,
  input: OrgBootstrapInput,
  mgmt: string,
): Promise<OrgBootstrapResult> {
  const workflowId = WorkflowIds.orgBootstrap(mgmt);
  let handle;
  try {
    handle = await client.workflow.start(WorkflowTypes.orgBootstrap, {
      workflowId,
      taskQueue: TaskQueues.infra,
      args: [input],
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new CliError(
        `a bootstrap of this organization is running (${workflowId}); wait for it to end, then run this again`,
        ExitCode.Failed,
      );
    }
    throw err;
  }
  try {
    return await waitWithProgress<OrgBootstrapResult, OrgProgress>(handle, {
      label: input.dryRun ? 'org plan' : 'org apply',
      query: orgProgressQuery,
      render: renderProgress,
    });
  } catch (err) {
    if (err instanceof WorkflowFailedError) {
      throw new CliError(
        `org bootstrap ${workflowId} failed: ${err.cause?.message ?? err.message}`,
        ExitCode.Failed,
      );
    }
    throw err;
  }
}

/** The plan for people: waves of steps, then what is left alone and why. */
function printPlan(plan: OrgPlan): void {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(
    `Management account ${plan.managementAccountId}: ${plan.steps.length ? `${plan.steps.length} step(s)` : 'no changes'}`,
  );
  waves(plan.steps).forEach((wave, i) => {
    out(`  wave ${i + 1}${wave.length > 1 ? ' (in parallel)' : ''}:`);
    for (const s of wave) out(`    + ${s.summary}`);
  });
  if (plan.undeclared.length) {
    out('Not declared in the config (left alone, never deleted):');
    for (const u of plan.undeclared) out(`    ? ${u.kind} ${u.name}${u.detail ? ` (${u.detail})` : ''}`);
  }
  if (plan.frozen.length) out(`Frozen by the budget guard (left alone): ${plan.frozen.join(', ')}`);
  for (const n of plan.notes) out(`Note: ${n}`);
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/** Validate the config and learn the management account: both before anything starts. */
async function prepare(opts: Opts): Promise<{ input: OrgBootstrapInput; mgmt: string }> {
  const input = buildOrgBootstrapInput(resolveConfigDir(opts.configDir));
  return { input, mgmt: await managementAccountId() };
}

export function registerOrgCommands(program: Command): void {
  const org = program
    .command('org')
    .description('the AWS Organization of config/org.yaml: plan and apply (seed §4, §5)');

  org
    .command('plan')
    .description(
      'compare the live organization with org.yaml and budgets.yaml and print the steps that would converge it',
    )
    .option('--json', 'print one JSON document with a `steps` array')
    .action(async (_o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<Opts>();
      const { input, mgmt } = await prepare(opts);
      const result = await withTemporalClient(opts, (client) =>
        runBootstrap(client, { ...input, dryRun: true }, mgmt),
      );
      if (opts.json) printJson(result.plan);
      else printPlan(result.plan);
    });

  org
    .command('apply')
    .description(
      'show the plan, ask, then apply exactly that plan (the workflow refuses if the live organization changed meanwhile)',
    )
    .option('--yes', 'apply without asking')
    .option('--json', 'print one JSON document with the plan and the applied steps')
    .action(async (_o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<Opts>();
      if (!opts.yes && !process.stdin.isTTY) {
        throw new CliError(
          'apply asks for confirmation, and stdin is not a terminal: pass --yes to apply without asking',
          ExitCode.BadInput,
        );
      }
      const { input, mgmt } = await prepare(opts);
      await withTemporalClient(opts, async (client) => {
        const { plan } = await runBootstrap(client, { ...input, dryRun: true }, mgmt);
        if (!opts.json) printPlan(plan);
        if (plan.steps.length === 0) {
          if (opts.json) printJson({ plan, applied: [] });
          else say('nothing to apply: the organization matches the config');
          return;
        }
        if (!opts.yes && !(await confirm(`Apply these ${plan.steps.length} step(s) to ${mgmt}? [y/N] `))) {
          throw new CliError('not applied: the operator declined', ExitCode.Failed);
        }
        const result = await runBootstrap(client, { ...input, approvedSteps: plan.steps }, mgmt);
        if (opts.json) printJson({ plan: result.plan, applied: result.applied });
        else say(`applied ${result.applied.length} step(s)`);
      });
    });
}
