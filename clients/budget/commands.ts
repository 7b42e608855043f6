import { createServer } from 'node:http';
import { CostExplorerClient } from '@aws-sdk/client-cost-explorer';
import { type Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Command } from 'commander';
import {
  checkNowUpdate,
  freezeUpdate,
  unfreezeUpdate,
  type BudgetGuardStatus,
} from '../../lib/contracts/budget';
import { parseSnsBudgetMessage } from '../../lib/budget-alert';
import { loadBudgetsConfig, resolveConfigDir } from '../../lib/runtime/config';
import { WorkflowIds } from '../../lib/names';
import { runwayLine } from '../../lib/budget-runway';
import { defaultAwsConfig } from '../../lib/runtime/aws';
import { readCreditsRunway } from './runway';
import { budgetGuardStatus, signalBudgetAlert } from './guards';
import { createBudgetAlertHandler, SNS_TOPIC_ARN } from './alerts-endpoint';
import { subscribeAlertsEndpoint, subscribeUrl } from './alerts-topic';
import { withClient, type GlobalOptions } from '../command';
import { printJson, printTable, say } from '../output';
import { CliError, errorMessage, ExitCode } from '../errors';
import { clientOrigin } from '../../lib/runtime/client-identity';
import { connectClient } from '../../lib/runtime/temporal';

/** `sv0 budget ...`: status, check now, unfreeze with an approval, and the SNS alert bridge. */

type Opts = GlobalOptions & { json?: boolean };

/** Cost Explorer with the operator's AWS settings; the API is served from us-east-1. */
const costExplorer = () => new CostExplorerClient({ ...defaultAwsConfig(), region: 'us-east-1' });

/** Budget names from config/budgets.yaml (validated against org.yaml), or the one asked for. */
function budgetNames(opts: Opts, only?: string): string[] {
  const names = loadBudgetsConfig(resolveConfigDir(opts.configDir)).budgets.map((b) => b.name);
  if (only === undefined) return names;
  if (!names.includes(only))
    throw new CliError(
      `no budget "${only}" in budgets.yaml; budgets: ${names.join(', ')}`,
      ExitCode.BadInput,
    );
  return [only];
}

const money = (n: number | undefined) => (n === undefined ? undefined : `$${n.toFixed(2)}`);
const pct = (n: number | undefined) => (n === undefined ? undefined : `${n}%`);

function printStatuses(rows: { name: string; status?: BudgetGuardStatus }[]): void {
  printTable(
    ['BUDGET', 'ACCOUNT', 'MONTH', 'SPENT', 'BUDGET$', 'USED', 'FORECAST', 'LEVEL', 'FROZEN', 'CHECKED'],
    rows.map(({ name, status: s }) =>
      s
        ? [
            name,
            s.account,
            s.month,
            money(s.spend?.actual),
            money(s.amount),
            pct(s.percentUsed),
            pct(s.forecastPercent),
            pct(s.levelReached),
            s.frozen ? `yes (${s.freeze?.accountId ?? '?'})` : 'no',
            s.lastCheckedAt,
          ]
        : [
            name,
            undefined,
            undefined,
            undefined,
            undefined,
            undefined,
            undefined,
            undefined,
            'guard not running',
            undefined,
          ],
    ),
  );
  for (const { name, status } of rows) if (status?.lastProblem) say(`${name}: ${status.lastProblem}`);
}

/** The message of a rejected or failed update, without the SDK's wrapping. */
function updateError(err: unknown): string {
  return errorMessage(err instanceof WorkflowUpdateFailedError ? (err.cause ?? err) : err);
}

/**
 * `sv0 budget unfreeze` and `sv0 budget freeze`: one command each, alike but for the update they
 * send, the help, and what the guard's answer means (the line printed, or why the command failed).
 */
const FREEZE_COMMANDS = [
  {
    verb: 'unfreeze',
    update: unfreezeUpdate,
    description: 'detach FreezeAccount with an approval (recorded in the audit trail)',
    by: 'who approves the unfreeze',
    outcome: (name: string, s: BudgetGuardStatus, by: string) =>
      s.frozen
        ? {
            line: `budget ${name}: still frozen (${s.lastProblem ?? 'see sv0 budget status'})`,
            failed: `budget ${name} is still frozen`,
          }
        : { line: `budget ${name}: unfrozen by ${by}` },
  },
  {
    verb: 'freeze',
    update: freezeUpdate,
    description:
      "quarantine the budget's sandbox account by hand now: destroy its live demos, then attach FreezeAccount (recorded as unfreeze is)",
    by: 'who asks for the freeze',
    outcome: (name: string, s: BudgetGuardStatus, by: string) => {
      if (s.frozen)
        return { line: `budget ${name}: account ${s.freeze?.accountName ?? s.account} frozen by ${by}` };
      if (s.audit.at(-1)?.action === 'freeze-dry-run')
        return {
          line: `budget ${name}: dry run, nothing attached (the guards are armed by \`sv0 up --enable-destructive\`)`,
        };
      return {
        line: `budget ${name}: not frozen (${s.lastProblem ?? 'see sv0 budget status'})`,
        failed: `budget ${name} is not frozen`,
      };
    },
  },
] as const;

/**
 * Send an unfreeze or a freeze by hand to a guard, with who and why as typed and where from (the
 * OS user and host, self-reported); a guard not running is exit 1, a refusal exit 2.
 */
async function request(
  client: Client,
  name: string,
  command: (typeof FREEZE_COMMANDS)[number],
  o: { by: string; reason: string },
): Promise<BudgetGuardStatus> {
  try {
    return await client.workflow.getHandle(WorkflowIds.budget(name)).executeUpdate(command.update, {
      args: [{ by: o.by, reason: o.reason, origin: clientOrigin() }],
    });
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new CliError(
        `the guard of budget ${name} is not running; start it with \`sv0 up\``,
        ExitCode.Failed,
      );
    throw new CliError(`${command.verb} ${name} refused: ${updateError(err)}`, ExitCode.BadInput);
  }
}

export function registerBudgetCommands(program: Command): void {
  const budget = program.command('budget').description('budget guards: spend, thresholds, account freezes');

  budget
    .command('status')
    .description('spend, forecast, level reached and freeze state of every budget')
    .option('--json', 'print one JSON document')
    .action(async (_o, cmd: Command) =>
      withClient<void, Opts>(
        cmd,
        async (client, opts) => {
          const rows = [];
          for (const name of budgetNames(opts))
            rows.push({ name, status: await budgetGuardStatus(client, name) });
          if (opts.json) printJson(rows.map((r) => r.status ?? { budget: r.name, running: false }));
          else {
            printStatuses(rows);
            // Credits are read from Cost Explorer, not from a guard; a failed read never fails the status.
            const credits = loadBudgetsConfig(resolveConfigDir(opts.configDir)).credits;
            if (credits)
              say(
                await readCreditsRunway(costExplorer(), credits).then(
                  runwayLine,
                  (err: unknown) =>
                    `credits: could not read Cost Explorer (${errorMessage(err)}); see \`sv0 budget runway\``,
                ),
              );
          }
        },
        { what: 'budget guard' },
      ),
    );

  budget
    .command('runway')
    .description(
      "credits left (budgets.yaml's credits.startingBalance minus the credits Cost Explorer shows used) and months of runway at the last 30 days' burn",
    )
    .option('--json', 'print one JSON document')
    .action(async (_o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<Opts>();
      const credits = loadBudgetsConfig(resolveConfigDir(opts.configDir)).credits;
      if (!credits)
        throw new CliError(
          'budgets.yaml: credits: no starting balance declared (credits.startingBalance, credits.since)',
          ExitCode.BadInput,
        );
      const runway = await readCreditsRunway(costExplorer(), credits).catch((err: unknown) => {
        throw new CliError(`Cost Explorer: ${errorMessage(err)}`, ExitCode.Failed);
      });
      if (opts.json) printJson(runway);
      else say(runwayLine(runway));
    });

  budget
    .command('check [name]')
    .description('read spend now and act on it (all budgets, or NAME)')
    .option('--json', 'print one JSON document')
    .action(async (name: string | undefined, _o, cmd: Command) =>
      withClient<void, Opts>(
        cmd,
        async (client, opts) => {
          const rows: { name: string; status?: BudgetGuardStatus }[] = [];
          for (const n of budgetNames(opts, name)) {
            try {
              rows.push({
                name: n,
                status: await client.workflow.getHandle(WorkflowIds.budget(n)).executeUpdate(checkNowUpdate),
              });
            } catch (err) {
              if (!(err instanceof WorkflowNotFoundError)) throw err;
              rows.push({ name: n });
            }
          }
          if (opts.json) printJson(rows.map((r) => r.status ?? { budget: r.name, running: false }));
          else printStatuses(rows);
          if (rows.some((r) => !r.status))
            throw new CliError(
              'some budget guards are not running; start them with `sv0 up`',
              ExitCode.Failed,
            );
        },
        { what: 'budget guard' },
      ),
    );

  for (const command of FREEZE_COMMANDS)
    budget
      .command(`${command.verb} <name>`)
      .description(command.description)
      .requiredOption(
        '--by <who>',
        `${command.by}; recorded with your OS user and host, all self-reported (docs/budgets.md)`,
      )
      .requiredOption('--reason <text>', 'why')
      .option('--json', 'print one JSON document')
      .action(async (name: string, o: { by: string; reason: string }, cmd: Command) =>
        withClient<void, Opts>(
          cmd,
          async (client, opts) => {
            budgetNames(opts, name);
            const status = await request(client, name, command, o);
            const outcome: { line: string; failed?: string } = command.outcome(name, status, o.by);
            if (opts.json) printJson(status);
            else say(outcome.line);
            if (outcome.failed) throw new CliError(outcome.failed, ExitCode.Failed);
          },
          { what: 'budget guard' },
        ),
      );

  budget
    .command('alert')
    .description('read an AWS Budgets SNS message (JSON or text) on stdin and tell its guard to check now')
    .action(async (_o, cmd: Command) => {
      let body = '';
      for await (const chunk of process.stdin) body += (chunk as Buffer).toString('utf8');
      let message;
      try {
        message = parseSnsBudgetMessage(body);
      } catch (err) {
        throw new CliError((err as Error).message, ExitCode.BadInput);
      }
      if (message.kind !== 'alert')
        throw new CliError(`not a budget notification (${message.kind}); nothing to do`, ExitCode.BadInput);
      const { budgetName, summary } = message;
      await withClient<void, Opts>(
        cmd,
        async (client) => {
          try {
            const id = await signalBudgetAlert(client, budgetName, {
              source: 'cli',
              receivedAt: new Date().toISOString(),
              summary,
            });
            say(`signalled ${id}`);
          } catch (err) {
            if (err instanceof WorkflowNotFoundError)
              throw new CliError(`no budget guard runs for budget ${budgetName}`, ExitCode.Failed);
            throw err;
          }
        },
        { what: 'budget guard' },
      );
    });

  budget
    .command('alerts-endpoint')
    .description(
      'serve the HTTP endpoint an SNS subscription posts budget alerts to; only messages SNS signed, from the allowed topics, act',
    )
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:8787')
    .option(
      '--topic-arn <arn>',
      'an SNS topic whose messages are accepted (repeatable)',
      (value: string, all: string[] = []) => [...all, value],
    )
    .option(
      '--subscribe <url>',
      'subscribe this public URL (how SNS reaches the endpoint) to each --topic-arn topic (sv0 org apply creates sv0-budget-alerts)',
    )
    .action(async (o: { listen: string; topicArn?: string[]; subscribe?: string }, cmd: Command) => {
      const m = /^(.*):([0-9]{1,5})$/.exec(o.listen);
      if (!m) throw new CliError(`--listen: "${o.listen}" is not host:port`, ExitCode.BadInput);
      const topicArns = alertTopics(o.topicArn);
      if (o.subscribe !== undefined) subscribeUrl(o.subscribe);
      const client = await connectClient(cmd.optsWithGlobals<Opts>());
      const server = createServer(createBudgetAlertHandler(client, { topicArns }));
      await new Promise<void>((resolve) => server.listen(Number(m[2]), m[1], resolve));
      say(
        `budget alerts endpoint on http://${o.listen}/ (POST SNS messages from ${topicArns.join(', ')}); Ctrl-C stops it`,
      );
      if (o.subscribe) {
        // Listening first: SNS posts its SubscriptionConfirmation as soon as it subscribes.
        for (const topicArn of topicArns) {
          const sub = await subscribeAlertsEndpoint({ url: o.subscribe, topicArn });
          say(`subscribed ${o.subscribe} to ${sub.topicArn} (${sub.subscriptionArn})`);
        }
      }
      await new Promise<void>((resolve) => process.once('SIGINT', resolve).once('SIGTERM', resolve));
      server.close();
      await client.connection.close();
    });
}

/** The topics the alerts endpoint accepts: each `--topic-arn`, checked; none is bad usage. */
function alertTopics(given: string[] | undefined): string[] {
  if (!given?.length)
    throw new CliError(
      '--topic-arn: name the SNS topic your AWS budgets publish to (arn:aws:sns:REGION:ACCOUNT:TOPIC); the endpoint accepts messages from no other topic',
      ExitCode.BadInput,
    );
  for (const arn of given)
    if (!SNS_TOPIC_ARN.test(arn))
      throw new CliError(
        `--topic-arn: "${arn.slice(0, 120)}" is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:TOPIC)`,
        ExitCode.BadInput,
      );
  return given;
}
