/**
 * Bootstrap the organization into moto for `npm run dev`: moto starts empty at every start, and
 * demos, sweeps and budget guards need the accounts, roles and SCPs of config/org.yaml. Runs
 * the real org bootstrap workflow on the dev worker, with its progress on the terminal.
 */
import type { Client } from '@temporalio/client';
import { buildOrgBootstrapInput, managementAccountId } from '../clients/org/bootstrap';
import { WaitTimeoutError, waitWithProgress } from '../clients/progress';
import { TaskQueues, WorkflowIds, WorkflowTypes } from '../lib/names';
import { orgProgressQuery, type OrgBootstrapResult, type OrgProgress } from '../lib/contracts/org';
import type { DesiredOrg } from '../lib/org/types';

/**
 * The desired organization as moto can build it. moto's SSO Admin looks AWS managed policies up
 * without their path, so it cannot find `job-function/Billing`; BillingAccess gets the path-less
 * billing read-only policy instead. Only ever for moto: the shipped config keeps the real policy.
 */
export function motoCompatibleDesired(desired: DesiredOrg): DesiredOrg {
  for (const p of desired.identityCenter?.permissionSets ?? []) {
    p.managedPolicies = p.managedPolicies.map((m) =>
      m.replace('policy/job-function/Billing', 'policy/AWSBillingReadOnlyAccess'),
    );
  }
  return desired;
}

/** How long `npm run dev` waits for the bootstrap before it goes on (the workflow keeps running). */
const BOOTSTRAP_WAIT_MS = 180_000;

/** Run the org bootstrap against moto and say in one line what it did. */
export async function bootstrapDevOrganization(client: Client, configDir: string): Promise<string> {
  const input = await buildOrgBootstrapInput(configDir);
  input.desired = motoCompatibleDesired(input.desired);
  const handle = await client.workflow.start(WorkflowTypes.orgBootstrap, {
    taskQueue: TaskQueues.infra,
    workflowId: WorkflowIds.orgBootstrap(await managementAccountId()),
    // moto is new at each start: a bootstrap left over from the last session is replaced.
    workflowIdConflictPolicy: 'TERMINATE_EXISTING',
    args: [input],
  });
  let result: OrgBootstrapResult;
  try {
    result = await waitWithProgress<OrgBootstrapResult, OrgProgress>(handle, {
      label: 'org bootstrap into moto',
      query: orgProgressQuery,
      render: (p) =>
        `${p.phase}, ${p.done.length}/${p.total} steps${p.running.length ? `: ${p.running.join(', ')}` : ''}`,
      // The rest of the stack is useful without it: stop waiting, let it go on, say where it is.
      timeoutMs: BOOTSTRAP_WAIT_MS,
    });
  } catch (err) {
    if (err instanceof WaitTimeoutError) {
      return `still running after ${BOOTSTRAP_WAIT_MS / 1000}s (${err.lastState}); follow ${handle.workflowId} in the Web UI`;
    }
    throw err;
  }
  const accounts = input.desired.accounts.map((a) => a.name).join(', ');
  return `bootstrapped into moto: ${result.applied.length} steps applied (accounts ${accounts})`;
}
