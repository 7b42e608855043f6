import { Option, type Command } from 'commander';
import { resolveConfigDir } from '../lib/runtime/config';
import { type GlobalOptions } from './command';
import { exitCodeFor, CliError, ExitCode } from './errors';
import { DEFAULT_CHECK_TIMEOUT_MS, doctorExitCode, runDoctor, type CheckResult } from './doctor';
import { printJson, say } from './output';
import { resolveTemporalOptions, connectClient } from '../lib/runtime/temporal';
import { reportsForJson, runUp, type UpReport } from './up-step';
import { upSteps } from './up';

const MARK: Record<CheckResult['status'], string> = {
  ok: 'ok  ',
  warn: 'WARN',
  fail: 'FAIL',
  skipped: 'skip',
};

function printChecks(results: readonly CheckResult[]): void {
  const width = Math.max(...results.map((r) => r.name.length));
  for (const r of results) {
    process.stdout.write(`${MARK[r.status]}  ${r.name.padEnd(width)}  ${r.detail}\n`);
    if (r.fix && r.status !== 'ok') process.stdout.write(`${' '.repeat(width + 8)}fix: ${r.fix}\n`);
  }
}

/** The longest `--timeout` of doctor: a check that takes longer than this is as good as dead. */
const MAX_CHECK_TIMEOUT_S = 3600;

/** `--timeout` of doctor in milliseconds: seconds above 0 (fractions allowed), else bad input (exit 2). */
function checkTimeoutMs(text: string): number {
  const bad = (reason: string) =>
    new CliError(`--timeout: "${text.slice(0, 40)}" ${reason}`, ExitCode.BadInput);
  const seconds = /^-?[0-9]+(\.[0-9]+)?$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (Number.isNaN(seconds)) throw bad('is not a number of seconds; write one such as 8 or 30');
  if (seconds <= 0) throw bad('is not above 0: each check needs some seconds, such as 8 or 30');
  if (seconds > MAX_CHECK_TIMEOUT_S)
    throw bad(`is more than ${MAX_CHECK_TIMEOUT_S} seconds, the longest a check may take`);
  return seconds * 1000;
}

/** The exit code of `up`: the most telling failure (unreachable > bad input > failed). */
function upExitCode(reports: readonly UpReport[]): ExitCode {
  const codes = reports.filter((r) => !r.ok).map((r) => exitCodeFor(r.cause));
  if (codes.length === 0) return ExitCode.Ok;
  if (codes.includes(ExitCode.Unreachable)) return ExitCode.Unreachable;
  if (codes.includes(ExitCode.BadInput)) return ExitCode.BadInput;
  return ExitCode.Failed;
}

/** `sv0 doctor` and `sv0 up`: check the dependencies; start everything long-running. */
export function registerStackCommands(program: Command): void {
  program
    .command('doctor')
    .description(
      'check Temporal, search attributes, AWS, the container engine and connector secrets; say how to fix what fails',
    )
    .option('--json', 'print the checks as one JSON document')
    .option(
      '--timeout <seconds>',
      'time limit per check, in seconds',
      String(DEFAULT_CHECK_TIMEOUT_MS / 1000),
    )
    .addHelpText(
      'after',
      '\nExits 3 when a dependency is unreachable, 1 when another check failed, 0 otherwise.',
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions & { timeout: string }>();
      const timeoutMs = checkTimeoutMs(opts.timeout);
      const results = await runDoctor({
        temporal: opts,
        configDir: resolveConfigDir(opts.configDir),
        timeoutMs,
      });
      const code = doctorExitCode(results);
      if (opts.json) printJson({ ok: code === 0, checks: results });
      else printChecks(results);
      if (code !== 0)
        throw new CliError(
          `${results.filter((r) => r.status === 'fail').length} check(s) failed`,
          code,
          false,
        );
    });

  program
    .command('up')
    .description(
      'start or update everything long-running, idempotently: search attributes, connector schedules and health, the org drift and demo sweep schedules, the budget guards',
    )
    .option('--json', 'print what each step did as one JSON document')
    .addOption(
      new Option(
        '--enable-destructive',
        'arm what can destroy AWS resources: the demo sweep schedule runs (else paused) and budget guards freeze (else dry runs). Pass it on every run: without it, `up` holds them back again',
      ),
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions & { enableDestructive?: boolean }>();
      const safe = !opts.enableDestructive;
      const configDir = resolveConfigDir(opts.configDir);
      const { namespace } = resolveTemporalOptions(opts);
      const client = await connectClient(opts);
      try {
        say(`sv0 up: namespace ${namespace}, config ${configDir}`);
        const reports = await runUp(
          { client, configDir, namespace, globals: opts, safe, log: say },
          upSteps(),
        );
        if (opts.json)
          printJson({
            ok: reports.every((r) => r.ok),
            safe,
            steps: reportsForJson(reports),
          });
        if (safe) {
          say(
            'safe mode: the demo sweep is paused and budget freezes are dry runs; arm them with `sv0 up --enable-destructive`',
          );
        }
        const code = upExitCode(reports);
        if (code !== ExitCode.Ok)
          throw new CliError(`${reports.filter((r) => !r.ok).length} step(s) failed`, code);
      } finally {
        await client.connection.close();
      }
    });
}
