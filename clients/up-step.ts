/**
 * `sv0 up`: start or update everything long-running, idempotently. Each workflow family contributes
 * steps; `up` runs them in order, reports each, and keeps going after a failed step so one broken
 * family does not hide the state of the others.
 */
import type { Client } from '@temporalio/client';
import type { GlobalOptions } from './command';
import { errorMessage } from './errors';

/**
 * What a step may do. `safe` is on unless the operator passed `--enable-destructive` (or
 * `npm run dev` runs on moto, where nothing real can be destroyed): steps then start whatever can
 * destroy AWS resources (the demo sweep, budget freezes) paused or as dry runs.
 */
export interface UpContext {
  client: Client;
  /** The validated config folder (`--config-dir` > `SV0_CONFIG_DIR` > `./config`). */
  configDir: string;
  namespace: string;
  globals: GlobalOptions;
  /** Start destructive schedules paused and guards in dry-run mode. */
  safe: boolean;
  /** Progress for people (stderr). */
  log: (text: string) => void;
}

/** What one step did, for the summary and `--json`. */
export interface UpStepResult {
  /** `created`, `updated`, `unchanged`, `started`, `running`, `paused`, `dry-run`, `skipped`... */
  status: string;
  detail?: string;
  /** Names of what the step touched (schedule ids, workflow ids). */
  items?: string[];
}

/** One thing `up` starts or updates. `run` must be idempotent: `up` is run again after every change. */
export interface UpStep {
  name: string;
  /**
   * Read and validate this step's config files. Every step's `validate` runs before any step's
   * `run`, so bad input stops `up` before anything changes.
   */
  validate?(ctx: UpContext): void | Promise<void>;
  run(ctx: UpContext): Promise<UpStepResult>;
}

export interface UpReport {
  step: string;
  ok: boolean;
  status: string;
  detail?: string;
  items?: string[];
  error?: string;
  /** The error, kept for the exit code; not serialized. */
  cause?: unknown;
}

/**
 * Validate every step's input (throws the first ConfigError: nothing has changed yet), then run the
 * steps in order; a failing step is reported and the next one still runs.
 */
export async function runUp(ctx: UpContext, steps: readonly UpStep[]): Promise<UpReport[]> {
  for (const step of steps) await step.validate?.(ctx);
  const reports: UpReport[] = [];
  for (const step of steps) {
    try {
      const result = await step.run(ctx);
      reports.push({ step: step.name, ok: true, ...result });
      ctx.log(`  ok    ${step.name}: ${result.status}${result.detail ? ` (${result.detail})` : ''}`);
    } catch (err) {
      const message = errorMessage(err);
      reports.push({ step: step.name, ok: false, status: 'failed', error: message, cause: err });
      ctx.log(`  FAIL  ${step.name}: ${message}`);
    }
  }
  return reports;
}

/** The reports without the kept errors, for `--json`. */
export function reportsForJson(reports: readonly UpReport[]): Omit<UpReport, 'cause'>[] {
  return reports.map(({ cause: _cause, ...rest }) => rest);
}
