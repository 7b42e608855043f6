import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { createConnectorSyncActivities } from '../../activities/connectors/sync';
import type { createNotifyActivities } from '../../activities/notify';
import type { Notification } from '../../lib/config/notifications';
import {
  healthConfigSignal,
  healthStateQuery,
  resetFailuresSignal,
  syncReportedSignal,
  type ConnectorHealthConfig,
  type ConnectorHealthInput,
  type HealthState,
  type SyncReport,
} from '../../lib/contracts/connectors';
import { formatDuration, parseDuration } from '../../lib/duration';
import { failureReason } from '../../lib/failures';

const acts = proxyActivities<ReturnType<typeof createConnectorSyncActivities>>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 3, initialInterval: '5s' },
});
const { notify } = proxyActivities<ReturnType<typeof createNotifyActivities>>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5, initialInterval: '5s' },
});

/**
 * The connectors' health check as one long-running workflow: every few minutes ask the platform for each
 * connector's last sync and alert when it is older than twice the connector's interval, once per
 * incident, and once more when it recovers. It also counts failed runs in a row, which the sync
 * runs report, and pauses a connector's schedule after too many, with an alert that says why.
 */
export async function connectorHealthWorkflow(input: ConnectorHealthInput): Promise<void> {
  let config = input.config;
  const state: HealthState = input.state ?? {
    incidents: {},
    failedInARow: {},
    pausedForFailures: {},
    checks: 0,
    checkErrors: {},
  };
  const reports: SyncReport[] = [];
  let checksThisRun = 0;

  setHandler(syncReportedSignal, (r) => void reports.push(r));
  setHandler(healthConfigSignal, (c) => void (config = c));
  setHandler(resetFailuresSignal, ({ connector }) => {
    state.failedInARow[connector] = 0;
    delete state.pausedForFailures[connector];
  });
  setHandler(healthStateQuery, () => ({ ...state, connectors: config.connectors.map((c) => c.name) }));

  const send = async (notification: Notification) => {
    try {
      await notify({ notification, sinks: config.sinks });
    } catch (err) {
      // A sink that stays down must not stop the health check; the log keeps the alert.
      log.error('notification failed', { event: notification.event, error: (err as Error).message });
    }
  };

  let nextCheck = Date.now();
  for (;;) {
    if (Date.now() >= nextCheck) {
      await checkStaleness(config, state, send);
      await acts
        .reapOrphanContainers()
        .catch((err: unknown) => log.warn('orphan reaper failed', { error: (err as Error).message }));
      state.checks += 1;
      checksThisRun += 1;
      state.lastCheckAt = new Date().toISOString();
      nextCheck = Date.now() + parseDuration(config.checkEvery);
    }
    await condition(() => reports.length > 0, Math.max(nextCheck - Date.now(), 1));
    while (reports.length > 0) await countFailures(reports.shift() as SyncReport, config, state, send);

    if (workflowInfo().continueAsNewSuggested || checksThisRun >= (config.checksPerRun ?? 100)) {
      await condition(allHandlersFinished);
      // Reports that arrived while the handlers finished are handled before the state moves on.
      while (reports.length > 0) await countFailures(reports.shift() as SyncReport, config, state, send);
      await continueAsNew<typeof connectorHealthWorkflow>({ config, state });
    }
  }
}

async function checkStaleness(
  config: ConnectorHealthConfig,
  state: HealthState,
  send: (n: Notification) => Promise<void>,
) {
  let schedules: Awaited<ReturnType<typeof acts.connectorScheduleStates>>;
  try {
    schedules = await acts.connectorScheduleStates({ connectors: config.connectors.map((c) => c.name) });
  } catch (err) {
    log.warn('cannot read the connector schedules', { error: (err as Error).message });
    return;
  }
  const now = Date.now();
  for (const c of config.connectors) {
    const schedule = schedules.find((s) => s.connector === c.name);
    // Disabled (no schedule) or paused connectors are not checked.
    if (!schedule?.exists || schedule.paused) continue;
    let lastSyncAt: string | undefined;
    try {
      lastSyncAt = (await acts.lastPlatformSync({ platform: config.platform, connector: c.name })).at;
    } catch (err) {
      // Without an answer the connector's staleness is unknown: that too must not go unnoticed.
      const failing = state.checkErrors[c.name] ?? {
        since: new Date(now).toISOString(),
        message: '',
        alerted: false,
      };
      failing.message = failureReason(err);
      state.checkErrors[c.name] = failing;
      if (!failing.alerted && now - Date.parse(failing.since) > 2 * parseDuration(c.interval)) {
        failing.alerted = true;
        await send({
          event: 'connector.check-failing',
          severity: 'warning',
          title: `Cannot check connector ${c.name} on the platform`,
          text: `Asking the platform for its last sync has failed since ${failing.since}: ${failing.message}`,
          fields: { connector: c.name, since: failing.since },
        });
      }
      continue;
    }
    const recovered = state.checkErrors[c.name];
    delete state.checkErrors[c.name];
    if (recovered?.alerted) {
      await send({
        event: 'connector.check-recovered',
        severity: 'info',
        title: `Connector ${c.name} can be checked again`,
        text: `The platform answers again (failing since ${recovered.since}).`,
        fields: { connector: c.name, since: recovered.since },
      });
    }
    // A connector that never synced is measured from its schedule's creation.
    const since = lastSyncAt ?? schedule.createdAt;
    if (!since) continue;
    const limitMs = 2 * parseDuration(c.interval);
    const ageMs = now - Date.parse(since);
    const stale = ageMs > limitMs;
    const open = state.incidents[c.name];
    if (stale && !open) {
      state.incidents[c.name] = { since: new Date(now).toISOString(), lastSyncAt };
      await send({
        event: 'connector.stale',
        severity: 'warning',
        title: `Connector ${c.name} is stale`,
        text:
          (lastSyncAt
            ? `Its last sync on the platform was ${formatDuration(Math.max(1, Math.floor(ageMs / 60_000)) * 60_000)} ago, more than twice its interval of ${c.interval}.`
            : `It has not synced since its schedule was created, more than twice its interval of ${c.interval} ago.`) +
          holdsBackText(c.holdsBack),
        fields: {
          connector: c.name,
          lastSyncAt: lastSyncAt ?? 'never',
          interval: c.interval,
          ...holdsBackField(c.holdsBack),
        },
      });
    } else if (!stale && open) {
      delete state.incidents[c.name];
      await send({
        event: 'connector.recovered',
        severity: 'info',
        title: `Connector ${c.name} has recovered`,
        text: `It synced at ${lastSyncAt ?? 'an unknown time'}; stale since ${open.since}.`,
        fields: { connector: c.name, lastSyncAt: lastSyncAt ?? 'unknown', staleSince: open.since },
      });
    }
  }
}

async function countFailures(
  r: SyncReport,
  config: ConnectorHealthConfig,
  state: HealthState,
  send: (n: Notification) => Promise<void>,
) {
  if (r.ok) {
    state.failedInARow[r.connector] = 0;
    return;
  }
  const count = (state.failedInARow[r.connector] ?? 0) + 1;
  state.failedInARow[r.connector] = count;
  const watched = config.connectors.find((c) => c.name === r.connector);
  const limit = watched?.pauseAfterFailedRuns;
  if (limit === undefined || count < limit || state.pausedForFailures[r.connector]) return;
  const note = `paused by connector-health after ${count} failed runs in a row; last: ${r.reason ?? 'unknown'}`;
  try {
    await acts.pauseConnectorSchedule({ connector: r.connector, note: note.slice(0, 1000) });
    state.pausedForFailures[r.connector] = note;
  } catch (err) {
    log.error('cannot pause the connector schedule', {
      connector: r.connector,
      error: (err as Error).message,
    });
  }
  await send({
    event: 'connector.paused',
    severity: 'critical',
    title: `Connector ${r.connector} paused after ${count} failed runs in a row`,
    text:
      `Last failure (${r.workflowId}): ${r.reason ?? 'unknown'}. Fix the cause, then run \`sv0 connectors resume ${r.connector}\`.` +
      holdsBackText(watched?.holdsBack),
    fields: {
      connector: r.connector,
      failedInARow: count,
      workflowId: r.workflowId,
      ...holdsBackField(watched?.holdsBack),
    },
  });
}

/** The connectors held back by this one's trouble, for an alert's text (they raise none of their own). */
function holdsBackText(holdsBack: string[] | undefined): string {
  return holdsBack?.length ? ` It holds back ${holdsBack.join(', ')}, which run after it.` : '';
}

function holdsBackField(holdsBack: string[] | undefined): { holdsBack?: string } {
  return holdsBack?.length ? { holdsBack: holdsBack.join(', ') } : {};
}
