import { z } from 'zod';
import {
  connectorNameSchema,
  ConnectorSpecSchema,
  PlatformSchema,
  type ConnectorsConfig,
  type ConnectorSpec,
} from '../config/connectors';
import {
  ageKeyFileRefusal,
  containerLimits,
  imageRefusal,
  networkRefusal,
  pathRefusal,
  platformUrlRefusal,
  registryRefusal,
  roleChainRefusal,
  secretReferenceRefusal,
  type ContainerLimits,
  type WorkerSettings,
} from '../config/worker';

/**
 * The connector activities' inputs as schemas, validated again in each activity (a workflow's input
 * may be forged), and the worker settings' checks of a connector run and of the platform the health
 * check asks.
 *
 * Activities, the CLI and tests import this module; workflows never do (lint rejects it), so zod,
 * yaml and the config schemas stay out of the workflow bundle. The rest of the connectors contract
 * is in lib/contracts/connectors.ts.
 */

/**
 * Input of the `runConnector` activity. Validated there again (the workflow input may be forged):
 * the same connector schema the CLI applies to connectors.yaml.
 */
export const RunConnectorInputSchema = z.strictObject({
  connector: ConnectorSpecSchema,
  /** The sync workflow's id, put on the container's labels. */
  workflowId: z.string().min(1).max(400),
  /** The health check a success is reported to (connector-health); absent: nobody is told. */
  healthWorkflowId: z.string().min(1).max(400).optional(),
});
export type RunConnectorInput = z.infer<typeof RunConnectorInputSchema>;

/** Input of the `verifyUpstreamRun` activity. */
export const VerifyUpstreamRunInputSchema = z.strictObject({
  /** The connector waiting on `upstream`. */
  dependent: connectorNameSchema,
  upstream: connectorNameSchema,
  /** The run the report names. */
  workflowId: z.string().min(1).max(400),
  runId: z
    .string()
    .regex(/^[0-9a-fA-F-]{36}$/, 'a run id')
    .optional(),
});
export type VerifyUpstreamRunInput = z.infer<typeof VerifyUpstreamRunInputSchema>;

/** Input of the `lastPlatformSync` activity. */
export const LastSyncInputSchema = z.strictObject({
  platform: PlatformSchema.required(),
  connector: connectorNameSchema,
});
export type LastSyncInput = z.infer<typeof LastSyncInputSchema>;

/** Input of the `pauseConnectorSchedule` activity. */
export const PauseConnectorScheduleInputSchema = z.strictObject({
  connector: connectorNameSchema,
  note: z.string().max(1000),
});

/** Input of the `connectorScheduleStates` activity. */
export const ConnectorScheduleStatesInputSchema = z.strictObject({
  connectors: z.array(connectorNameSchema).max(1000),
});

/**
 * Every reason the worker's settings refuse a connector run, checked before any secret is
 * resolved: image and registry, network, container limits, the AWS role chain, and every secret
 * reference and path
 * (by their text; the activity resolves symlinks before it reads a file). Empty: allowed.
 */
export function connectorRefusals(
  settings: WorkerSettings,
  connector: ConnectorSpec,
): { refusals: string[]; limits: ContainerLimits } {
  const refusals: string[] = [];
  const add = (reason: string | undefined) => void (reason && refusals.push(reason));
  add(imageRefusal(settings, connector.image));
  add(networkRefusal(settings, connector.network));
  const { limits, refusals: over } = containerLimits(settings, connector);
  refusals.push(...over);
  if (connector.aws) add(roleChainRefusal(settings, connector.aws.roleChain));
  if (connector.registryAuth) {
    add(registryRefusal(settings, connector.image, connector.registryAuth.server));
    add(secretReferenceRefusal(settings, connector.registryAuth.passwordRef));
  }
  for (const source of connector.secrets) {
    if (source.type === 'refs') {
      for (const [name, ref] of Object.entries(source.vars)) {
        const reason = secretReferenceRefusal(settings, ref);
        if (reason) refusals.push(`${name}: ${reason}`);
      }
      continue;
    }
    add(pathRefusal(settings, source.path, `${source.type} ${source.path}`));
    if (source.type === 'sops' && source.ageKeyFile !== undefined) {
      const reason = ageKeyFileRefusal(settings, source.ageKeyFile);
      if (reason) refusals.push(`sops ${source.path}: ${reason}`);
    }
  }
  return { refusals, limits };
}

/** Why the health check may not ask this platform (the token goes only to the worker's platform). */
export function platformRefusals(settings: WorkerSettings, platform: LastSyncInput['platform']): string[] {
  return [
    platformUrlRefusal(settings, platform.url),
    secretReferenceRefusal(settings, platform.tokenRef),
  ].filter((r): r is string => r !== undefined);
}

/**
 * Every refusal the worker's settings would give the runs and health checks of a connectors.yaml,
 * per field, for the CLI to report against the file before anything runs.
 */
export function connectorsConfigRefusals(
  settings: WorkerSettings,
  config: ConnectorsConfig,
): { path: string; reason: string }[] {
  const problems = platformRefusals(settings, config.platform).map((reason) => ({
    path: 'platform',
    reason,
  }));
  config.connectors.forEach((c, i) => {
    for (const reason of connectorRefusals(settings, c).refusals)
      problems.push({ path: `connectors[${i}]`, reason: `connector ${c.name}: ${reason}` });
  });
  return problems;
}
