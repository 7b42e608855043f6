#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { loadSecretFiles } from '../lib/runtime/secret-files';
import { version } from '../package.json';
import { registerBudgetCommands } from './budget/commands';
import { registerCodecCommands } from './codec-commands';
import { registerConnectorCommands } from './connectors/commands';
import { registerDemoCommands } from './demo/commands';
import { CliError, errorMessage, ExitCode, exitCodeFor } from './errors';
import { registerOrgCommands } from './org/commands';
import { say } from './output';
import { registerStackCommands } from './stack-commands';

function buildProgram(): Command {
  const program = new Command('sv0')
    .description(
      "SecurityV0's cloud operations as durable Temporal workflows: org bootstrap, connector syncs, demo lifecycles, budget freezes.",
    )
    .version(version, '-V, --version', 'print the version of sv0 and exit')
    .addOption(
      new Option('--config-dir <dir>', 'config folder (org.yaml, connectors.yaml, ...)').env(
        'SV0_CONFIG_DIR',
      ),
    )
    .addOption(new Option('--address <host:port>', 'Temporal frontend address').env('TEMPORAL_ADDRESS'))
    .addOption(new Option('--namespace <name>', 'Temporal namespace').env('TEMPORAL_NAMESPACE'))
    .addOption(new Option('--api-key <key>', 'Temporal API key (implies TLS)').env('TEMPORAL_API_KEY'))
    .addOption(new Option('--tls', 'connect to Temporal with TLS'))
    .addOption(
      new Option('--tls-cert-path <file>', 'client certificate for mTLS').env(
        'TEMPORAL_TLS_CLIENT_CERT_PATH',
      ),
    )
    .addOption(new Option('--tls-key-path <file>', 'client key for mTLS').env('TEMPORAL_TLS_CLIENT_KEY_PATH'))
    .addOption(
      new Option('--tls-server-name <name>', 'TLS server name override').env('TEMPORAL_TLS_SERVER_NAME'),
    )
    .showHelpAfterError()
    .exitOverride()
    .addHelpText(
      'after',
      `
Exit codes:
  0  done
  1  the operation or workflow failed
  2  bad input or usage (also apply without --yes when stdin is not a terminal)
  3  a dependency (Temporal, AWS, the container engine) is unreachable`,
    );
  // Every command family, each in its own module.
  registerOrgCommands(program);
  registerConnectorCommands(program);
  registerDemoCommands(program);
  registerBudgetCommands(program);
  registerStackCommands(program);
  registerCodecCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  // Tokens from OP_SERVICE_ACCOUNT_TOKEN_FILE and the like, before a command reads them (--help
  // works without them).
  program.hook('preAction', () => {
    for (const warning of loadSecretFiles(process.env)) say(`warning: ${warning}`);
  });
  try {
    await program.parseAsync(argv);
    return ExitCode.Ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; every other commander error is a usage error.
      return err.exitCode === 0 ? ExitCode.Ok : ExitCode.BadInput;
    }
    const code = exitCodeFor(err);
    say(`error: ${errorMessage(err)}`);
    if (code === ExitCode.Unreachable && !(err instanceof CliError && !err.doctorHint))
      say('hint: run `sv0 doctor` to check each dependency');
    return code;
  }
}

if (require.main === module) {
  main(process.argv).then(
    (code) => process.exit(code),
    (err: unknown) => {
      say(String(err));
      process.exit(ExitCode.Failed);
    },
  );
}
