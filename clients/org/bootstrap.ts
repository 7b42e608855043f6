/**
 * The org bootstrap from the client side: the validated workflow input from the config folder,
 * the management account id (for the workflow id), and one run of the workflow with its progress.
 */
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowFailedError } from '@temporalio/client';
import { BUDGETS_FILE } from '../../lib/config/budgets';
import { ORG_FILE } from '../../lib/config/org';
import {
  orgProgressQuery,
  type OrgBootstrapInput,
  type OrgBootstrapResult,
  type OrgProgress,
} from '../../lib/contracts/org';
import { TaskQueues, WorkflowIds, WorkflowTypes } from '../../lib/names';
import { buildDesiredOrg, placeholderEmailErrors } from '../../lib/org/desired';
import { defaultAwsConfig, type AwsClientConfig, isLocalAwsEndpoint } from '../../lib/runtime/aws';
import { configFile, loadBudgetsConfig, loadOrgConfig } from '../../lib/runtime/config';
import { CliError, errorMessage, ExitCode } from '../errors';
import { waitWithProgress } from '../progress';

/**
 * Read and validate config/org.yaml and config/budgets.yaml into the bootstrap's input. Against a
 * real AWS endpoint (not moto on localhost) placeholder emails are refused here, before anything
 * runs. Throws a ConfigError naming file, field and reason.
 */
export async function buildOrgBootstrapInput(
  configDir: string,
  aws: AwsClientConfig = defaultAwsConfig(),
): Promise<OrgBootstrapInput> {
  const org = loadOrgConfig(configDir);
  const budgets = loadBudgetsConfig(configDir, org);
  if (!(await isLocalAwsEndpoint(new OrganizationsClient({ ...aws, region: 'us-east-1' })))) {
    const errors = placeholderEmailErrors(org, budgets, {
      org: configFile(configDir, ORG_FILE),
      budgets: configFile(configDir, BUDGETS_FILE),
    });
    if (errors[0]) throw errors[0];
  }
  return { desired: buildDesiredOrg(org, budgets) };
}

/** The account the credentials belong to: the management account, or the bootstrap refuses to run. */
export async function managementAccountId(aws: AwsClientConfig = defaultAwsConfig()): Promise<string> {
  const out = await new STSClient(aws).send(new GetCallerIdentityCommand({}));
  if (!out.Account) throw new Error('STS GetCallerIdentity returned no account');
  return out.Account;
}

function renderProgress(p: OrgProgress): string {
  if (p.phase === 'reading') return 'reading the live organization';
  const running = p.running.length ? `; running ${p.running.join(', ')}` : '';
  return `${p.phase}: ${p.done.length}/${p.total} steps done${running}`;
}

/** Run the bootstrap workflow once (a dry run or an apply) and wait for it, showing its progress. */
export async function runOrgBootstrap(
  client: Client,
  input: OrgBootstrapInput,
  mgmt: string,
): Promise<OrgBootstrapResult> {
  const workflowId = WorkflowIds.orgBootstrap(mgmt);
  let handle;
  try {
    handle = await client.workflow.start(WorkflowTypes.orgBootstrap, {
      workflowId,
      taskQueue: TaskQueues.infra,
      args: [input],
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new CliError(
        `a bootstrap of this organization is running (${workflowId}); wait for it to end, then run this again`,
        ExitCode.Failed,
      );
    }
    throw err;
  }
  try {
    return await waitWithProgress<OrgBootstrapResult, OrgProgress>(handle, {
      label: input.dryRun ? 'org plan' : 'org apply',
      query: orgProgressQuery,
      render: renderProgress,
    });
  } catch (err) {
    if (err instanceof WorkflowFailedError) {
      throw new CliError(
        `org bootstrap ${workflowId} failed: ${errorMessage(err.cause ?? err)}`,
        ExitCode.Failed,
      );
    }
    throw err;
  }
}
