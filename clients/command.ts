/**
 * What every `sv0` command shares: the global options it inherits, and one way to run with a
 * Temporal client that is closed afterwards and whose errors map to the documented exit codes.
 */
import { createInterface } from 'node:readline/promises';
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { withTemporalClient, type TemporalOptions } from '../lib/runtime/temporal';
import { temporalCliError } from './errors';

/** Options every command inherits; `--temporal-*` also come from Temporal's environment variables. */
export interface GlobalOptions extends TemporalOptions {
  configDir?: string;
  json?: boolean;
}

/**
 * Run a command's body with a connected client and close it afterwards. Temporal's errors become
 * CLI errors (see {@link temporalCliError}); `what` and `hint` name the family's workflow there.
 */
export async function withClient<T, O extends GlobalOptions = GlobalOptions>(
  cmd: Command,
  fn: (client: Client, opts: O) => Promise<T>,
  names: { what?: string; hint?: string } = {},
): Promise<T> {
  const opts = cmd.optsWithGlobals<O>();
  try {
    return await withTemporalClient(opts, (client) => fn(client, opts));
  } catch (err) {
    throw temporalCliError(err, names.what, names.hint);
  }
}

/** Ask a yes/no question on the terminal (stderr); only `y` or `yes` is a yes. */
export async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}
