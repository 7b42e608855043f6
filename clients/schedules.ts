/**
 * Create-or-update of a Temporal Schedule, the way `sv0 up` and `sv0 connectors apply` keep every
 * schedule in step with the config: idempotent, and explicit about the paused state it wants.
 */
import { ScheduleNotFoundError, type Client, type ScheduleOptions } from '@temporalio/client';

/**
 * Create the schedule, or update an existing one to these options (spec, action, policies; a
 * policy the options leave out keeps its live value). With `paused` given, the schedule is paused
 * or unpaused to match (`sv0 up` holds destructive schedules back unless armed); without it, an
 * existing schedule keeps its state and a new one takes `options.state`.
 */
export async function upsertSchedule(
  client: Client,
  options: ScheduleOptions,
  opts: { paused?: boolean } = {},
): Promise<'created' | 'updated'> {
  const handle = client.schedule.getHandle(options.scheduleId);
  try {
    await handle.update((prev) => ({
      ...prev,
      spec: options.spec,
      action: options.action,
      policies: { ...prev.policies, ...options.policies },
    }));
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
    await client.schedule.create(options);
    return 'created';
  }
  if (opts.paused !== undefined) {
    const { state } = await handle.describe();
    if (opts.paused && !state.paused) await handle.pause('paused by sv0 up (safe mode)');
    if (!opts.paused && state.paused) await handle.unpause('armed by sv0 up --enable-destructive');
  }
  return 'updated';
}
