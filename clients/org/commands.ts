import type { Command } from 'commander';
import type { OrgBootstrapInput } from '../../lib/contracts/org';
import { waves } from '../../lib/org/plan';
import type { OrgPlan } from '../../lib/org/types';
import { resolveConfigDir } from '../../lib/runtime/config';
import { confirm, withClient, type GlobalOptions } from '../command';
import { CliError, ExitCode } from '../errors';
import { printJson, say } from '../output';
import { buildOrgBootstrapInput, managementAccountId, runOrgBootstrap } from './bootstrap';

/** `sv0 org plan|apply`: the org bootstrap with a plan first. */

type Opts = GlobalOptions & { json?: boolean; yes?: boolean };

/** How org commands name the bootstrap in Temporal's errors. */
const ORG_NAMES = { what: 'org bootstrap' };

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
  // Older workers answer plans without warnings.
  for (const w of plan.warnings ?? []) out(`Warning: ${w}`);
}

/** Validate the config and learn the management account: both before anything starts. */
async function prepare(opts: Opts): Promise<{ input: OrgBootstrapInput; mgmt: string }> {
  const input = await buildOrgBootstrapInput(resolveConfigDir(opts.configDir));
  return { input, mgmt: await managementAccountId() };
}

export function registerOrgCommands(program: Command): void {
  const org = program.command('org').description('the AWS Organization of config/org.yaml: plan and apply');

  org
    .command('plan')
    .description(
      'compare the live organization with org.yaml and budgets.yaml and print the steps that would converge it',
    )
    .option('--json', 'print one JSON document with a `steps` array')
    .action(async (_o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<Opts>();
      const { input, mgmt } = await prepare(opts);
      const result = await withClient(
        cmd,
        (client) => runOrgBootstrap(client, { ...input, dryRun: true }, mgmt),
        ORG_NAMES,
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
      await withClient(
        cmd,
        async (client) => {
          const { plan } = await runOrgBootstrap(client, { ...input, dryRun: true }, mgmt);
          if (!opts.json) printPlan(plan);
          if (plan.steps.length === 0) {
            if (opts.json) printJson({ plan, applied: [] });
            else say('nothing to apply: the organization matches the config');
            return;
          }
          if (!opts.yes && !(await confirm(`Apply these ${plan.steps.length} step(s) to ${mgmt}?`))) {
            throw new CliError('not applied: the operator declined', ExitCode.Failed);
          }
          const result = await runOrgBootstrap(client, { ...input, approvedSteps: plan.steps }, mgmt);
          if (opts.json) printJson({ plan: result.plan, applied: result.applied });
          else say(`applied ${result.applied.length} step(s)`);
        },
        ORG_NAMES,
      );
    });
}
