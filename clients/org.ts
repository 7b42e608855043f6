import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import {
  type Client,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type ScheduleOptions,
} from '@temporalio/client';
import { awsConfigFromEnv, type AwsClientConfig, isLocalEndpoint } from '../activities/aws-session';
import { BUDGETS_FILE, loadBudgetsConfig } from '../lib/config/budgets';
import { configFile } from '../lib/config/load';
import { loadNotificationsConfig } from '../lib/config/notifications';
import { loadOrgConfig, ORG_FILE } from '../lib/config/org';
import { ScheduleIds, TaskQueues, WorkflowTypes } from '../lib/names';
import { buildDesiredOrg, placeholderEmailErrors } from '../lib/org/desired';
import type { OrgBootstrapInput, OrgDriftInput } from '../lib/contracts/org';
import type { UpStep } from './up';

/**
 * Client side of the org bootstrap: the validated workflow input from the config folder, the
 * management account id (for the workflow id), and the `org-drift` Schedule for `sv0 up`.
 */

/**
 * Read and validate config/org.yaml and config/budgets.yaml into the bootstrap's input. Against a
 * real AWS endpoint (not moto on localhost) placeholder emails are refused here, before anything
 * runs. Throws a ConfigError naming file, field and reason.
 */
export function buildOrgBootstrapInput(
  configDir: string,
  aws: AwsClientConfig = awsConfigFromEnv(),
): OrgBootstrapInput {
  const org = loadOrgConfig(configDir);
  const budgets = loadBudgetsConfig(configDir, org);
  if (!isLocalEndpoint(aws)) {
    const errors = placeholderEmailErrors(org, budgets, {
      org: configFile(configDir, ORG_FILE),
      budgets: configFile(configDir, BUDGETS_FILE),
    });
    if (errors[0]) throw errors[0];
  }
  return { desired: buildDesiredOrg(org, budgets) };
}

/** The account the credentials belong to: the management account, or the bootstrap refuses to run. */
export async function managementAccountId(aws: AwsClientConfig = awsConfigFromEnv()): Promise<string> {
  const out = await new STSClient(aws).send(new GetCallerIdentityCommand({}));
  if (!out.Account) throw new Error('STS GetCallerIdentity returned no account');
  return out.Account;
}

/** The drift check runs daily at 06:00 UTC unless told otherwise. */
const DEFAULT_DRIFT_CRON = '0 6 * * *';

/**
 * Create or update the `org-drift` Schedule: the drift workflow with the current config, daily,
 * one run at a time (overlap SKIP), catching up at most one missed run.
 */
export async function ensureOrgDriftSchedule(
  client: Client,
  input: OrgDriftInput,
  opts: { cron?: string; taskQueue?: string } = {},
): Promise<'created' | 'updated'> {
  const action: ScheduleOptions['action'] = {
    type: 'startWorkflow',
    workflowType: WorkflowTypes.orgDrift,
    workflowId: ScheduleIds.orgDrift,
    taskQueue: opts.taskQueue ?? TaskQueues.infra,
    args: [input],
    workflowExecutionTimeout: '1 hour',
  };
  const spec = { cronExpressions: [opts.cron ?? DEFAULT_DRIFT_CRON] };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' } as const;
  const handle = client.schedule.getHandle(ScheduleIds.orgDrift);
  try {
    await handle.update((prev) => ({ ...prev, spec, action, policies: { ...prev.policies, ...policies } }));
    return 'updated';
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
  await client.schedule.create({ scheduleId: ScheduleIds.orgDrift, spec, action, policies });
  return 'created';
}

/** The `sv0 up` step: validate org.yaml, budgets.yaml and notifications.yaml, then create or update `org-drift`. */
export const orgDriftUpStep: UpStep = {
  name: 'org drift check',
  validate(ctx) {
    buildOrgBootstrapInput(ctx.configDir);
    loadNotificationsConfig(ctx.configDir);
  },
  async run(ctx) {
    const { desired } = buildOrgBootstrapInput(ctx.configDir);
    const result = await ensureOrgDriftSchedule(ctx.client, {
      desired,
      sinks: loadNotificationsConfig(ctx.configDir).sinks,
    });
    return { status: result, detail: `daily (${DEFAULT_DRIFT_CRON} UTC)`, items: [ScheduleIds.orgDrift] };
  },
};
