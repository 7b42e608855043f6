import { ScheduleNotFoundError, WorkflowFailedError, type Client } from '@temporalio/client';
import { InvalidArgumentError, type Command } from 'commander';
import { findConnector, type ConnectorsConfig } from '../../lib/config/connectors';
import { loadConnectorsConfig, resolveConfigDir, loadNotificationsConfig } from '../../lib/runtime/config';
import { checkConnectorsForWorker } from '../../lib/runtime/worker-settings';
import { ScheduleIds, WorkflowIds } from '../../lib/names';
import { resetFailuresSignal } from '../../lib/contracts/connectors';
import { confirm, withClient, type GlobalOptions } from '../command';
import {
  applyConnectorSchedules,
  planConnectorSchedules,
  triggerConnectorRun,
  type ScheduleChange,
} from './schedules';
import { connectorStatuses, type ConnectorStatus } from './status';
import { connectorRuns, type ConnectorRun } from './history';
import { printJson, printTable, say } from '../output';
import { CliError, errorMessage, ExitCode } from '../errors';

/** `sv0 connectors ...`: apply the schedules, list and status, run now, pause and resume. */

type Opts = GlobalOptions & {
  json?: boolean;
  yes?: boolean;
  dryRun?: boolean;
  wait?: boolean;
  reason?: string;
  limit?: number;
};

/** connectors.yaml, validated and checked against the worker's settings (worker.yaml) of the same folder. */
function loadConfig(opts: Opts): ConnectorsConfig {
  const configDir = resolveConfigDir(opts.configDir);
  const config = loadConnectorsConfig(configDir);
  checkConnectorsForWorker(configDir, config);
  return config;
}

/** Validate the files before connecting: bad input is exit 2 whatever the server's state. */
function withConfigAndClient<T>(cmd: Command, fn: (client: Client, opts: Opts) => Promise<T>): Promise<T> {
  loadConfig(cmd.optsWithGlobals<Opts>());
  return withClient<T, Opts>(cmd, fn, { what: 'connector run' });
}

/** The schedule of an enabled connector, or a clear usage error. */
function scheduleOf(client: Client, config: ConnectorsConfig, name: string) {
  const c = findConnector(config, name);
  if (!c.enabled)
    throw new CliError(
      `connector ${name} is disabled in connectors.yaml; set enabled: true and run sv0 connectors apply`,
      ExitCode.BadInput,
    );
  if (c.after)
    throw new CliError(
      `connector ${name} has no schedule: it runs when ${c.after.join(', ')} succeeded (after: in connectors.yaml); run, pause or resume those`,
      ExitCode.BadInput,
    );
  return client.schedule.getHandle(ScheduleIds.connector(name));
}

function notApplied(err: unknown, name: string): never {
  if (err instanceof ScheduleNotFoundError) {
    throw new CliError(
      `no schedule ${ScheduleIds.connector(name)}: run sv0 connectors apply first`,
      ExitCode.BadInput,
    );
  }
  throw err;
}

function printPlan(changes: ScheduleChange[]): void {
  printTable(
    ['SCHEDULE', 'ACTION', 'WHY'],
    changes.map((c) => [c.scheduleId, c.action, c.reason || undefined]),
  );
}

function printStatuses(rows: ConnectorStatus[]): void {
  printTable(
    [
      'CONNECTOR',
      'SCHEDULE',
      'INTERVAL',
      'LAST RUN',
      'RESULT',
      'LAST SUCCESS',
      'NEXT RUN',
      'STALE',
      'FAILED IN A ROW',
    ],
    rows.map((r) => [
      r.connector,
      !r.enabled ? 'disabled' : r.after ? `after ${r.after.join(', ')}` : r.schedule,
      r.interval,
      r.lastRun?.startedAt,
      r.lastRun?.status,
      r.lastSuccessAt,
      r.nextRunAt,
      r.stale === 'unknown' ? undefined : r.stale ? 'yes' : 'no',
      r.failedInARow,
    ]),
  );
  for (const r of rows) {
    if (r.schedule === 'paused' && r.note) say(`${r.connector}: paused: ${r.note}`);
    if (r.waiting) say(`${r.connector}: ${r.waiting}`);
  }
}

function printRuns(runs: ConnectorRun[]): void {
  printTable(
    ['STARTED', 'DURATION', 'RESULT', 'ATTEMPTS', 'WORKFLOW ID'],
    runs.map((r) => [
      r.startedAt,
      `${(r.durationMs / 1000).toFixed(1)}s${r.endedAt ? '' : ' so far'}`,
      r.exitCode !== undefined && r.exitCode !== 0 ? `${r.result} (exit ${r.exitCode})` : r.result,
      r.attempts,
      r.workflowId,
    ]),
  );
  for (const r of runs) {
    if (r.error === undefined && r.logTail.length === 0) continue;
    say(`\n${r.workflowId} (${r.result}):`);
    if (r.error) say(`  error: ${r.error}`);
    for (const line of r.logTail) say(`  | ${line}`);
  }
}

/** A whole number of runs from 1 to 100, else a usage error (exit 2). */
function parseLimit(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || n < 1 || n > 100)
    throw new InvalidArgumentError(`a whole number from 1 to 100, got "${value}"`);
  return n;
}

export function registerConnectorCommands(program: Command): void {
  const connectors = program.command('connectors').description('connector syncs: schedules, runs, health');

  connectors
    .command('apply')
    .description('make the connector- schedules match connectors.yaml and start connector-health')
    .option('--yes', 'apply without asking')
    .option('--dry-run', 'show the plan only')
    .option('--json', 'print one JSON document')
    .action(async (_o, cmd: Command) =>
      withConfigAndClient(cmd, async (client, opts) => {
        const configDir = resolveConfigDir(opts.configDir);
        const config = loadConfig(opts);
        const notifications = loadNotificationsConfig(configDir);
        const plan = await planConnectorSchedules(client, config);
        const pending = plan.filter((c) => c.action !== 'unchanged');
        if (opts.dryRun) {
          if (opts.json) printJson({ changes: plan, applied: false });
          else printPlan(plan);
          return;
        }
        if (pending.length > 0 && !opts.yes) {
          if (!process.stdin.isTTY)
            throw new CliError(
              'apply changes schedules: pass --yes (stdin is not a terminal)',
              ExitCode.BadInput,
            );
          if (!opts.json) printPlan(plan);
          if (!(await confirm(`apply ${pending.length} change(s)?`)))
            throw new CliError('nothing applied', ExitCode.Failed);
        }
        const result = await applyConnectorSchedules(client, config, notifications);
        if (opts.json) printJson({ ...result, applied: true });
        else {
          printPlan(result.changes);
          say(`connector-health: ${result.health}`);
        }
      }),
    );

  for (const name of ['list', 'status']) {
    connectors
      .command(name === 'list' ? 'list' : 'status [name]')
      .description(
        name === 'list'
          ? 'every connector: schedule, last run, last success, next run, staleness'
          : 'the same, for one connector or all',
      )
      .option('--json', 'print one JSON document')
      .action(async (...args: unknown[]) => {
        const cmd = args.at(-1) as Command;
        const only = name === 'status' ? (args[0] as string | undefined) : undefined;
        await withConfigAndClient(cmd, async (client, opts) => {
          const config = loadConfig(opts);
          if (only) findConnector(config, only);
          const rows = await connectorStatuses(client, config, { only });
          if (opts.json) printJson(only ? rows[0] : rows);
          else printStatuses(rows);
        });
      });
  }

  connectors
    .command('history <name>')
    .description(
      "a connector's last runs, newest first: start, duration, result, attempts, and the last lines of each run's output (secrets redacted)",
    )
    .option('--limit <n>', 'how many runs, 1-100 (default 10)', parseLimit)
    .option('--json', 'print one JSON document')
    .action(async (name: string, _o, cmd: Command) =>
      withConfigAndClient(cmd, async (client, opts) => {
        findConnector(loadConfig(opts), name);
        const runs = await connectorRuns(client, name, opts.limit ?? 10);
        if (opts.json) printJson({ connector: name, runs });
        else if (runs.length === 0) say(`${name}: no runs yet`);
        else printRuns(runs);
      }),
    );

  connectors
    .command('run <name>')
    .description('trigger a run now (overlap SKIP: no second run while one is running)')
    .option('--wait', 'wait for the run and exit 1 when it fails')
    .option('--json', 'print one JSON document')
    .action(async (name: string, _o, cmd: Command) =>
      withConfigAndClient(cmd, async (client, opts) => {
        const handle = scheduleOf(client, loadConfig(opts), name);
        await handle.describe().catch((err: unknown) => notApplied(err, name));
        const run = await triggerConnectorRun(client, name);
        say(
          run.alreadyRunning
            ? `${name}: a run is already in progress (${run.workflowId}); overlap SKIP starts no second one`
            : `${name}: started ${run.workflowId}`,
        );
        if (!opts.wait) {
          if (opts.json) printJson({ connector: name, ...run, waited: false });
          return;
        }
        try {
          const result = await client.workflow.getHandle(run.workflowId, run.runId).result();
          if (opts.json) printJson({ connector: name, ...run, waited: true, ok: true, result });
          else say(`${name}: succeeded (exit ${String((result as { exitCode?: number }).exitCode)})`);
        } catch (err) {
          const cause = errorMessage(err instanceof WorkflowFailedError ? (err.cause ?? err) : err);
          if (opts.json) printJson({ connector: name, ...run, waited: true, ok: false, error: cause });
          throw new CliError(`${name}: the run failed: ${cause}`, ExitCode.Failed);
        }
      }),
    );

  connectors
    .command('pause <name>')
    .description("pause a connector's schedule")
    .option('--reason <text>', 'why (shown in list and the Web UI)')
    .action(async (name: string, _o, cmd: Command) =>
      withConfigAndClient(cmd, async (client, opts) => {
        await scheduleOf(client, loadConfig(opts), name)
          .pause(opts.reason ?? 'paused with sv0 connectors pause')
          .catch((err: unknown) => notApplied(err, name));
        say(`${name}: paused`);
      }),
    );

  connectors
    .command('resume <name>')
    .description("resume a connector's schedule and clear its failure count")
    .option('--reason <text>', 'why')
    .action(async (name: string, _o, cmd: Command) =>
      withConfigAndClient(cmd, async (client, opts) => {
        await scheduleOf(client, loadConfig(opts), name)
          .unpause(opts.reason ?? 'resumed with sv0 connectors resume')
          .catch((err: unknown) => notApplied(err, name));
        await client.workflow
          .getHandle(WorkflowIds.connectorHealth)
          .signal(resetFailuresSignal, { connector: name })
          .catch(() => say('connector-health is not running: start it with sv0 up or sv0 connectors apply'));
        say(`${name}: resumed`);
      }),
    );
}
