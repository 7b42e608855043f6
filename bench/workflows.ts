/**
 * The workflows the benchmarks bundle: the project's own, unchanged, plus two of the benchmark's:
 * a no-op workflow (P4's baseline) and a stand-in for `connector-health` that takes the sync
 * reports, so each sync's report signal lands on a running workflow as it does in production.
 */
import { condition, defineSignal, setHandler } from '@temporalio/workflow';
import { syncReportedSignal } from '../lib/contracts/connectors';

export * from '../workflows';

/** Does nothing: the cost of a workflow itself (start, one task, completion). */
export async function benchNoopWorkflow(): Promise<void> {}

export const benchStopSignal = defineSignal('benchStop');

/** Counts the sync reports it receives until told to stop; returns the count. */
export async function benchHealthSinkWorkflow(): Promise<number> {
  let reports = 0;
  let stop = false;
  setHandler(syncReportedSignal, () => void reports++);
  setHandler(benchStopSignal, () => void (stop = true));
  await condition(() => stop);
  return reports;
}
