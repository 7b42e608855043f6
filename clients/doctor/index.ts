/**
 * `sv0 doctor`: check each dependency the way the worker and the CLI will use it, and say how to
 * fix what fails. One module per check in this folder; this one runs them. The checks that wait on
 * the network run in parallel, each call with its own time limit, so one dead dependency does not
 * hide the state of the others.
 */
import { type TemporalOptions } from '../../lib/runtime/temporal';
import { checkAws } from './aws';
import { type CheckResult } from './check';
import { checkConfig } from './config';
import { checkContainerEngine } from './container-engine';
import { checkOnePassword } from './onepassword';
import { checkPlatformApi } from './platform-api';
import { checkSops } from './sops';
import { checkTemporal } from './temporal';

export type { CheckResult, CheckStatus } from './check';

/** The per-check time limit when none is given. */
export const DEFAULT_CHECK_TIMEOUT_MS = 8000;

export interface DoctorInput {
  temporal: TemporalOptions;
  configDir: string;
  /**
   * The environment of the secret checks. The AWS and container engine checks read the process
   * environment, as the AWS SDK and dockerode resolve their endpoints and credentials from it
   * themselves (the worker does the same).
   */
  env?: NodeJS.ProcessEnv;
  /** Per-check limit. @default {@link DEFAULT_CHECK_TIMEOUT_MS} */
  timeoutMs?: number;
}

/** Run every check, in the order the report lists them. */
export async function runDoctor(input: DoctorInput): Promise<CheckResult[]> {
  const env = input.env ?? process.env;
  const ms = input.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const config = checkConfig(input.configDir, env);
  const [temporal, aws, engine, platform] = await Promise.all([
    checkTemporal(input.temporal, ms),
    checkAws(ms),
    checkContainerEngine(ms, config.connectors),
    checkPlatformApi(ms, env, config.connectors),
  ]);
  return [
    ...temporal,
    aws,
    engine,
    platform,
    config.result,
    checkOnePassword(env, config.connectors),
    checkSops(env, config.connectors),
  ];
}

/** 3 when a dependency is unreachable, 1 when something else failed, else 0. */
export function doctorExitCode(results: readonly CheckResult[]): 0 | 1 | 3 {
  if (results.some((r) => r.status === 'fail' && r.unreachable)) return 3;
  if (results.some((r) => r.status === 'fail')) return 1;
  return 0;
}
