import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { type ConnectorSpec } from '../../lib/config/connectors';
import { AWS_CREDENTIAL_VARS } from '../../lib/config/secret-refs';
import type { WorkerSettings } from '../../lib/config/worker';
import { defaultAwsConfig, type AwsClientConfig } from '../../lib/runtime/aws';
import { parseDuration } from '../../lib/duration';
import type { Logger } from '../../lib/runtime/logger';
import { ErrorType, ScheduleIds } from '../../lib/names';
import {
  syncReportedSignal,
  type ContainerRunResult,
  type RunConnectorResult,
  type SyncReport,
} from '../../lib/contracts/connectors';
import {
  connectorRefusals,
  ConnectorScheduleStatesInputSchema,
  LastSyncInputSchema,
  PauseConnectorScheduleInputSchema,
  platformRefusals,
  RunConnectorInputSchema,
  type LastSyncInput,
  type RunConnectorInput,
} from '../../lib/contracts/connectors-inputs';
import { ContainerRunError, type ContainerRunner } from './containers';
import { bearerAuthorization, fetchQuietly, jsonBody } from '../http';
import { refuseInput, validInput } from '../input';
import { secretFailure } from '../secrets/errors';
import type { SecretResolver } from '../secrets/resolve';
import { createRoleChainMinter, credentialSeconds } from '../secrets/role-chain';

export interface ConnectorActivityDeps {
  runner: ContainerRunner;
  secrets: SecretResolver;
  logger: Logger;
  /** What the worker allows (config/worker.yaml): every input is checked against it. */
  settings: WorkerSettings;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /**
   * The worker's own AWS settings, with which it assumes a connector's role chain.
   * @default the SDK's own resolution (environment, profile, instance role)
   */
  aws?: AwsClientConfig;
}

export type { LastSyncInput, RunConnectorInput };

/** The platform's newest sync for a connector (`GET {platform.url}{platform.syncsPath}?connector=<name>&limit=1`), or none. */
export interface LastSync {
  connector: string;
  status?: string;
  /** completedAt, else startedAt, of the newest sync; absent when the connector never synced. */
  at?: string;
}

export interface ConnectorScheduleState {
  connector: string;
  exists: boolean;
  paused: boolean;
  createdAt?: string;
}

/**
 * The activities of one connector sync, the health check and the reaper. Secrets are resolved
 * here and only here: workflows carry references.
 */
export function createConnectorSyncActivities(deps: ConnectorActivityDeps) {
  const doFetch = deps.fetch ?? globalThis.fetch;
  const roleChains = createRoleChainMinter({ aws: deps.aws ?? defaultAwsConfig() });

  /**
   * The temporary credentials of the connector's role chain as container variables, or none. The
   * chain is the worker's (its settings name the roles and external ids); the input only names it.
   */
  async function awsCredentials(connector: ConnectorSpec): Promise<Record<string, string>> {
    if (!connector.aws) return {};
    const chain = connector.aws.roleChain;
    const hops = deps.settings.secrets.roleChains[chain];
    // connectorRefusals refused an unknown chain already; this keeps the type checker informed.
    if (!hops) refuseInput([`connector ${connector.name}: AWS role chain ${chain} is not the worker's`]);
    const keys = await roleChains.mint(connector.name, chain, hops, {
      durationSeconds: credentialSeconds(parseDuration(connector.timeout)),
      sessionName: `sv0-connector-${connector.name}`,
    });
    const [id, secret, token] = AWS_CREDENTIAL_VARS;
    return { [id]: keys.accessKeyId, [secret]: keys.secretAccessKey, [token]: keys.sessionToken };
  }

  /**
   * Tell connector-health of a success from here: the workflow would need one more workflow task
   * (and the wait for the signal's delivery) before it closes, a third of a sync's cost on the
   * server (bench P4). False when it could not be told: the workflow then reports itself.
   */
  async function reportSuccess(input: RunConnectorInput): Promise<boolean> {
    if (!input.healthWorkflowId) return false;
    const report: SyncReport = { connector: input.connector.name, workflowId: input.workflowId, ok: true };
    try {
      await Context.current()
        .client.workflow.getHandle(input.healthWorkflowId)
        .signal(syncReportedSignal, report);
      return true;
    } catch (err) {
      deps.logger.warn(
        { connector: input.connector.name, health: input.healthWorkflowId, error: (err as Error).message },
        'connector-health did not take the sync report from the activity',
      );
      return false;
    }
  }

  return {
    /**
     * Resolve the connector's secrets (and assume its AWS role chain, when it names one), run its
     * container once and report the outcome. Exit 0
     * returns; another exit or a timeout fails retryably (the workflow's retry policy bounds it);
     * a bad secret, a missing image or a missing network fail for good.
     */
    async runConnector(raw: RunConnectorInput): Promise<RunConnectorResult> {
      const ctx = Context.current();
      const input = validInput(RunConnectorInputSchema, raw, 'runConnector');
      const { connector } = input;
      const { refusals, limits } = connectorRefusals(deps.settings, connector);
      if (refusals.length > 0) refuseInput(refusals.map((r) => `connector ${connector.name}: ${r}`));
      await deps.secrets.checkSources(connector.name, connector.secrets).catch(secretFailure);
      const attempt = ctx.info.attempt;
      const resolved = await deps.secrets
        .resolveConnectorEnv(connector.name, connector.secrets)
        .catch(secretFailure);
      const registryAuth = connector.registryAuth
        ? {
            server: connector.registryAuth.server,
            username: connector.registryAuth.username,
            password: await deps.secrets
              .resolveSecret(connector.registryAuth.passwordRef, connector.name)
              .catch(secretFailure),
          }
        : undefined;
      // The AWS calls come before the container's own heartbeats: say the attempt is alive on
      // either side of them, so a slow STS or Secrets Manager does not use up the heartbeat timeout.
      ctx.heartbeat({ phase: 'credentials', lines: 0 });
      const credentials = await awsCredentials(connector).catch(secretFailure);
      ctx.heartbeat({ phase: 'starting', lines: 0 });
      const redact = [
        ...resolved.secretValues,
        ...(registryAuth ? [registryAuth.password] : []),
        ...Object.values(credentials),
      ];
      let result: ContainerRunResult;
      try {
        result = await deps.runner.run({
          connector: connector.name,
          image: connector.image,
          pull: connector.pull ?? 'missing',
          args: connector.args,
          env: { ...connector.environment, ...resolved.env, ...credentials },
          network: connector.network,
          ...limits,
          timeoutMs: parseDuration(connector.timeout),
          workflowId: input.workflowId,
          attempt,
          registryAuth,
          redact,
          heartbeat: (details) => ctx.heartbeat(details),
          signal: ctx.cancellationSignal,
        });
      } catch (err) {
        if (err instanceof ContainerRunError) {
          const message = `connector ${connector.name}: ${err.message}`;
          if (err.kind === 'image')
            throw ApplicationFailure.nonRetryable(message, ErrorType.ImageUnavailable);
          if (err.kind === 'config') throw ApplicationFailure.nonRetryable(message, ErrorType.BadConfig);
          throw ApplicationFailure.retryable(message, 'Sv0ContainerEngine');
        }
        throw err;
      }
      const report: RunConnectorResult = { ...result, connector: connector.name, attempt };
      const seconds = (result.durationMs / 1000).toFixed(1);
      const last = result.logTail.slice(-5).join(' | ');
      if (result.timedOut) {
        throw ApplicationFailure.create({
          message: `connector ${connector.name}: killed after its timeout of ${connector.timeout} (attempt ${attempt}); last output: ${last || '(none)'}`,
          type: ErrorType.ConnectorTimedOut,
          details: [report],
        });
      }
      if (result.exitCode !== 0) {
        throw ApplicationFailure.create({
          message: `connector ${connector.name}: exited with code ${result.exitCode} after ${seconds}s (attempt ${attempt}); last output: ${last || '(none)'}`,
          type: ErrorType.ConnectorFailed,
          details: [report],
        });
      }
      deps.logger.info(
        { connector: connector.name, workflowId: input.workflowId, attempt, durationMs: result.durationMs },
        'connector run succeeded',
      );
      return { ...report, reported: await reportSuccess(input) };
    },

    /** Ask the platform for a connector's newest sync: `GET {url}{syncsPath}?connector=<name>&limit=1`. */
    async lastPlatformSync(raw: LastSyncInput): Promise<LastSync> {
      const input = validInput(LastSyncInputSchema, raw, 'lastPlatformSync');
      const refusals = platformRefusals(deps.settings, input.platform);
      if (refusals.length > 0) refuseInput(refusals);
      // The origin is the worker's own; the input chooses only the path on it.
      const url = new URL(input.platform.syncsPath, deps.settings.platform.url);
      const token = await deps.secrets.resolveSecret(input.platform.tokenRef).catch(secretFailure);
      url.searchParams.set('connector', input.connector);
      url.searchParams.set('limit', '1');
      const what = `platform ${url.origin}`;
      const res = await fetchQuietly(
        doFetch,
        url,
        { headers: { authorization: bearerAuthorization(token, what), accept: 'application/json' } },
        what,
      );
      if (res.status === 401 || res.status === 403) {
        throw ApplicationFailure.nonRetryable(
          `platform ${url.origin}: HTTP ${res.status}, the token (${input.platform.tokenRef}) was refused`,
          ErrorType.AccessDenied,
        );
      }
      if (!res.ok) throw new Error(`platform ${url.origin}${url.pathname}: HTTP ${res.status}`);
      const body = await jsonBody<{
        syncs?: { connector?: string; status?: string; startedAt?: string; completedAt?: string }[];
      }>(res, what);
      const newest = body.syncs?.[0];
      return {
        connector: input.connector,
        status: newest?.status,
        at: newest?.completedAt ?? newest?.startedAt,
      };
    },

    /** Remove labelled connector containers past their deadline. */
    async reapOrphanContainers(): Promise<string[]> {
      return deps.runner.reapOrphans(new Date());
    },

    /** Pause a connector's schedule, with a note that says why. Already paused is fine. */
    async pauseConnectorSchedule(raw: { connector: string; note: string }): Promise<void> {
      const input = validInput(PauseConnectorScheduleInputSchema, raw, 'pauseConnectorSchedule');
      const handle = Context.current().client.schedule.getHandle(ScheduleIds.connector(input.connector));
      await handle.pause(input.note);
    },

    /** Whether each connector's schedule exists, is paused, and when it was created. */
    async connectorScheduleStates(raw: { connectors: string[] }): Promise<ConnectorScheduleState[]> {
      const input = validInput(ConnectorScheduleStatesInputSchema, raw, 'connectorScheduleStates');
      const client = Context.current().client;
      return Promise.all(
        input.connectors.map(async (connector) => {
          try {
            const d = await client.schedule.getHandle(ScheduleIds.connector(connector)).describe();
            return {
              connector,
              exists: true,
              paused: d.state.paused,
              createdAt: d.info.createdAt.toISOString(),
            };
          } catch (err) {
            if ((err as Error).name === 'ScheduleNotFoundError')
              return { connector, exists: false, paused: false };
            throw err;
          }
        }),
      );
    },
  };
}
