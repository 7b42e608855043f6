import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CostExplorerClient } from '@aws-sdk/client-cost-explorer';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import type { Command } from 'commander';
import { BUDGETS_FILE, type BudgetsConfig } from '../../lib/config/budgets';
import { defaultAwsConfig } from '../../lib/runtime/aws';
import {
  resolveConfigDir,
  loadBudgetsConfig,
  loadNotificationsConfig,
  loadOrgConfig,
  loadScenario,
  scenarioTemplate,
} from '../../lib/runtime/config';
import { fixedRoleNames } from '../../lib/config/scenarios';
import type { OrgConfig } from '../../lib/config/org';
import { declaredOwners } from '../../lib/config/tag-policy';
import { tagValueAllowed } from '../../lib/org/tag-policy';
import { parseDuration } from '../../lib/duration';
import { Tags, WorkflowIds } from '../../lib/names';
import { withClient, type GlobalOptions } from '../command';
import {
  buildDemoInput,
  checkDemoRequest,
  demoStatus,
  destroyDemo,
  listDemos,
  moveDemoExpiry,
  startDemo,
} from './lifecycle';
import { assertForecastAllows, assertNotFrozen, resolveSandboxTargets } from './targets';
import { buildSweepInput, runSweep } from './sweep';
import { printJson, printTable, say } from '../output';
import { CliError, ExitCode } from '../errors';

/** `sv0 demo ...` and `sv0 sweep run`: ephemeral demo environments and the nightly sweep. */

type Opts = GlobalOptions & { json?: boolean };

/** How demo commands name a demo in Temporal's errors. */
const DEMO_NAMES = { what: 'demo', hint: '; choose another --id' };

/** budgets.yaml when the config folder has one: it names the budget that freezes an account. */
function budgetsIfDeclared(configDir: string, org: OrgConfig): BudgetsConfig | undefined {
  return existsSync(path.join(configDir, BUDGETS_FILE)) ? loadBudgetsConfig(configDir, org) : undefined;
}

const defaultOwner = () => process.env.SV0_OWNER ?? process.env.USER ?? os.userInfo().username;

/** `--owner` must be an owner config/org.yaml declares (its tag policy's sv0:owner values), when it declares any. */
function checkDeclaredOwner(org: OrgConfig, owner: string): void {
  const owners = declaredOwners(org);
  if (owners && !tagValueAllowed(owner, owners))
    throw new CliError(
      `--owner "${owner}": not an owner config/org.yaml declares (tagPolicy.values.${Tags.owner}: ${owners.join(', ')}); pass --owner or set SV0_OWNER`,
      ExitCode.BadInput,
    );
}

export function registerDemoCommands(program: Command): void {
  const demo = program.command('demo').description('ephemeral demo environments in the sandbox account');

  demo
    .command('start <scenario>')
    .description(
      'deploy a scenario of config/scenarios into the sandbox account; it is destroyed when its TTL ends',
    )
    .option('--ttl <duration>', "time to live (30m, 4h, 1d); default: the scenario's defaultTtl")
    .option('--owner <name>', 'who the demo is for (tag sv0:owner)', defaultOwner())
    .option('--id <id>', 'demo id, [a-z0-9-]{1,40}; default: <scenario>-<random>')
    .option('--account <name>', 'sandbox account name (needed when config/org.yaml marks more than one)')
    .option('--warn-before <duration>', 'warning before expiry (default 15m, at most half the TTL)')
    .option('--json', 'print one JSON document')
    .action(
      async (
        scenarioName: string,
        o: { ttl?: string; owner: string; id?: string; account?: string; warnBefore?: string },
        cmd: Command,
      ) => {
        const opts = cmd.optsWithGlobals<Opts>();
        // Everything that can be checked offline is checked before any connection.
        const configDir = resolveConfigDir(opts.configDir);
        const scenario = loadScenario(configDir, scenarioName);
        const org = loadOrgConfig(configDir);
        const notifications = loadNotificationsConfig(configDir);
        if (o.ttl !== undefined) parseDuration(o.ttl, '--ttl');
        if (o.warnBefore !== undefined) parseDuration(o.warnBefore, '--warn-before');
        const id = o.id ?? `${scenario.name}-${randomBytes(3).toString('hex')}`;
        checkDemoRequest({ scenario, id, owner: o.owner, ttl: o.ttl, warnBefore: o.warnBefore });
        // An app is synthesized here first (the worker does it again): a broken one is bad input
        // before any AWS or Temporal call.
        const template = await scenarioTemplate(scenario);
        template.dispose();
        const fixedRoles = fixedRoleNames(template.templateBody);
        checkDeclaredOwner(org, o.owner);
        const budgets = budgetsIfDeclared(configDir, org);
        const organizations = new OrganizationsClient(defaultAwsConfig());
        const { managementAccountId, targets } = await resolveSandboxTargets(organizations, org, {
          accountName: o.account,
        });
        if (targets.length > 1)
          throw new CliError(
            `several sandbox accounts (${targets.map((t) => t.accountName).join(', ')}): choose one with --account`,
            ExitCode.BadInput,
          );
        await assertNotFrozen(organizations, targets[0]!, budgets);
        // Cost Explorer is served from us-east-1.
        const ce = new CostExplorerClient({ ...defaultAwsConfig(), region: 'us-east-1' });
        await assertForecastAllows(ce, targets[0]!, budgets);
        const input = buildDemoInput({
          scenario,
          id,
          owner: o.owner,
          ttl: o.ttl,
          target: targets[0]!,
          managementAccountId,
          org,
          notifications,
          warnBefore: o.warnBefore,
        });
        await withClient(
          cmd,
          async (client) => {
            // The worker refuses it too; here the operator hears before a workflow starts.
            const live = fixedRoles.length
              ? (await listDemos(client)).find(
                  (d) => d.scenario === scenario.name && d.accountId === input.target.accountId,
                )
              : undefined;
            if (live) {
              throw new CliError(
                `demo ${live.id} of scenario ${scenario.name} is live in ${input.target.accountName} and holds the fixed role name ${fixedRoles.join(', ')}: destroy it first (sv0 demo destroy ${live.id})`,
                ExitCode.BadInput,
              );
            }
            await startDemo(client, input);
            const expiresAt = new Date(Date.now() + input.ttlMs).toISOString();
            const out = {
              id,
              workflowId: WorkflowIds.demo(id),
              scenario: scenario.name,
              owner: input.owner,
              accountId: input.target.accountId,
              expiresAt,
            };
            if (opts.json) printJson(out);
            else
              say(
                `demo ${id} started (${scenario.name} in ${input.target.accountName}), expires about ${expiresAt}; follow it with \`sv0 demo status ${id}\``,
              );
          },
          DEMO_NAMES,
        );
      },
    );

  demo
    .command('list')
    .description('running demos, soonest expiry first')
    .option('--json', 'print one JSON document')
    .action(async (_o, cmd: Command) =>
      withClient(
        cmd,
        async (client, opts) => {
          const rows = await listDemos(client);
          if (opts.json) printJson(rows);
          else
            printTable(
              ['ID', 'SCENARIO', 'OWNER', 'PHASE', 'EXPIRES', 'LEFT'],
              rows.map((r) => [r.id, r.scenario, r.owner, r.phase, r.expiresAt, r.timeLeft]),
            );
        },
        DEMO_NAMES,
      ),
    );

  demo
    .command('status <id>')
    .description('phase, owner, expiry, outputs and resources of a demo')
    .option('--json', 'print one JSON document')
    .action(async (id: string, _o, cmd: Command) =>
      withClient(
        cmd,
        async (client, opts) => {
          const s = await demoStatus(client, id);
          if (opts.json) return printJson(s);
          printTable(
            ['FIELD', 'VALUE'],
            [
              ['id', s.id],
              ['scenario', s.scenario],
              ['owner', s.owner],
              ['account', s.accountId],
              ['phase', s.phase],
              ['started', s.startedAt],
              ['expires', s.expiresAt],
              ['max expiry', s.maxExpiresAt],
              ...Object.entries(s.outputs).map(([k, v]) => [`output ${k}`, v]),
              ...(s.destroyReason ? [['destroy reason', s.destroyReason]] : []),
              ...(s.error ? [['error', s.error]] : []),
            ],
          );
          if (s.resources.length)
            say(`resources: ${s.resources.map((r) => `${r.logicalId} (${r.type})`).join(', ')}`);
          if (s.leftovers.length) say(`LEFT AFTER TEARDOWN: ${s.leftovers.map((r) => r.arn).join(', ')}`);
        },
        DEMO_NAMES,
      ),
    );

  for (const how of ['extend', 'shorten'] as const) {
    demo
      .command(`${how} <id> <duration>`)
      .description(
        how === 'extend'
          ? "move the expiry later (within the scenario's maximum lifetime)"
          : 'move the expiry earlier',
      )
      .option('--json', 'print one JSON document')
      .action(async (id: string, duration: string, _o, cmd: Command) => {
        parseDuration(duration, how);
        await withClient(
          cmd,
          async (client, opts) => {
            const expiresAt = await moveDemoExpiry(client, id, how, duration);
            if (opts.json) printJson({ id, expiresAt });
            else say(`demo ${id} now expires at ${expiresAt}`);
          },
          DEMO_NAMES,
        );
      });
  }

  demo
    .command('destroy <id>')
    .description('tear a demo down now')
    .option('--reason <text>', 'why (goes into the summary)', 'destroyed from the CLI')
    .option('--wait', 'wait until the teardown has finished')
    .option('--json', 'print one JSON document')
    .action(async (id: string, o: { reason: string; wait?: boolean }, cmd: Command) =>
      withClient(
        cmd,
        async (client, opts) => {
          const phase = await destroyDemo(client, id, o.reason);
          const summary = o.wait ? await client.workflow.getHandle(WorkflowIds.demo(id)).result() : undefined;
          if (opts.json) printJson({ id, phaseWhenAsked: phase, ...(summary ? { summary } : {}) });
          else say(`demo ${id}: teardown ${o.wait ? 'finished' : 'requested'} (was ${phase})`);
        },
        DEMO_NAMES,
      ),
    );

  const sweep = program
    .command('sweep')
    .description('the nightly sweep of ephemeral resources in sandbox accounts');
  sweep
    .command('run')
    .description(
      'sweep now: ephemeral-tagged resources older than 12h (or past sv0:ttl) that no running demo owns, and untagged ones 12h old where org.yaml sets sweepUntagged (else listed); a dry run unless --apply',
    )
    .option('--account <id>', 'only this sandbox account (id)')
    .option('--dry-run', 'only report what would be deleted (the default)')
    .option('--apply', 'delete for real')
    .option('--max-age <duration>', 'age after which ephemeral resources go', '12h')
    .option('--json', 'print one JSON document')
    .action(
      async (o: { account?: string; dryRun?: boolean; apply?: boolean; maxAge: string }, cmd: Command) => {
        if (o.apply && o.dryRun)
          throw new CliError('--apply and --dry-run exclude each other', ExitCode.BadInput);
        if (o.account !== undefined && !/^[0-9]{12}$/.test(o.account))
          throw new CliError(`--account ${o.account}: a 12-digit account id`, ExitCode.BadInput);
        parseDuration(o.maxAge, '--max-age');
        const opts = cmd.optsWithGlobals<Opts>();
        const configDir = resolveConfigDir(opts.configDir);
        const org = loadOrgConfig(configDir);
        const notifications = loadNotificationsConfig(configDir);
        const { managementAccountId, targets } = await resolveSandboxTargets(
          new OrganizationsClient(defaultAwsConfig()),
          org,
          { accountId: o.account },
        );
        const input = buildSweepInput({
          targets,
          managementAccountId,
          org,
          notifications,
          apply: o.apply === true,
          maxAge: o.maxAge,
        });
        await withClient(
          cmd,
          async (client) => {
            const result = await runSweep(client, input);
            if (opts.json) return printJson(result);
            for (const a of result.accounts) {
              say(`${a.accountName} (${a.accountId})${input.apply ? '' : ' [dry run]'}`);
              printTable(
                ['ACTION', 'TYPE', 'ARN', 'WHY'],
                [
                  ...(a.plan?.stacks ?? [])
                    .concat(a.plan?.resources ?? [])
                    .map((i) => [input.apply ? 'deleted' : 'would delete', i.type, i.arn, i.reason]),
                  ...(a.plan?.kept ?? []).map((i) => ['keep', i.type, i.arn, i.reason]),
                  ...(a.plan?.untagged ?? []).map((i) => ['untagged', i.type, i.arn, i.reason]),
                ],
              );
            }
          },
          DEMO_NAMES,
        );
      },
    );
}
