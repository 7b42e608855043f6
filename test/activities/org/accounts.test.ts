import {
  CreateAccountCommand,
  type CreateAccountStatus,
  DescribeCreateAccountStatusCommand,
  ListAccountsCommand,
  type ListAccountsCommandOutput,
  ListCreateAccountStatusCommand,
  ListParentsCommand,
  ListOrganizationalUnitsForParentCommand,
  ListRootsCommand,
  OrganizationsClient,
  type OrganizationsClientConfig,
} from '@aws-sdk/client-organizations';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOrgBootstrapActivities } from '../../../activities/org';
import { ErrorType } from '../../../lib/names';
import type { DesiredOrg } from '../../../lib/org/types';
import type { Moto } from '../../../scripts/local-stack';
import { orgProgressQuery } from '../../../lib/contracts/org';
import { orgBootstrapWorkflow } from '../../../workflows/org/bootstrap';
import { resetMoto } from '../../harness/aws';
import { recordHistory } from '../../harness/record-history';
import { runWorker, testEnv, uniqueId } from '../../harness/temporal';
import {
  awsFor,
  CallLog,
  fakeCostExplorer,
  orgDeps,
  seedDesired,
  startOrgMoto,
} from '../../harness/org-fixtures';

/**
 * A thin fake at the SDK-client boundary: moto answers CreateAccount SUCCEEDED at once, so this
 * client reports a creation IN_PROGRESS for `inProgressPolls` polls (hiding the account meanwhile)
 * or FAILED with `failWith`. Every other call goes to moto.
 */
class SlowCreateAccountClient extends OrganizationsClient {
  creates = 0;
  polls = 0;
  private readonly requests = new Map<string, { polls: number; real?: CreateAccountStatus; name: string }>();
  constructor(
    config: OrganizationsClientConfig,
    private readonly opts: { inProgressPolls: number; failWith?: string },
  ) {
    super(config);
  }

  private inProgress(id: string): boolean {
    const r = this.requests.get(id);
    return r !== undefined && r.polls <= this.opts.inProgressPolls && !this.opts.failWith;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- overrides every overload of send
  override async send(command: any, options?: any): Promise<any> {
    if (command instanceof CreateAccountCommand) {
      this.creates += 1;
      const name = command.input.AccountName!;
      if (this.opts.failWith) {
        const id = `car-fake-${this.creates}`;
        this.requests.set(id, { polls: 0, name });
        return { CreateAccountStatus: { Id: id, State: 'IN_PROGRESS', AccountName: name } };
      }
      const real = (await super.send(command, options)).CreateAccountStatus as CreateAccountStatus;
      this.requests.set(real.Id!, { polls: 0, real, name });
      return { CreateAccountStatus: { ...real, State: 'IN_PROGRESS', AccountId: undefined } };
    }
    if (command instanceof DescribeCreateAccountStatusCommand) {
      const id = command.input.CreateAccountRequestId!;
      const r = this.requests.get(id);
      if (!r) return super.send(command, options);
      this.polls += 1;
      r.polls += 1;
      if (this.opts.failWith) {
        return {
          CreateAccountStatus: {
            Id: id,
            State: 'FAILED',
            FailureReason: this.opts.failWith,
            AccountName: r.name,
          },
        };
      }
      if (this.inProgress(id))
        return { CreateAccountStatus: { Id: id, State: 'IN_PROGRESS', AccountName: r.name } };
      return { CreateAccountStatus: r.real };
    }
    if (command instanceof ListCreateAccountStatusCommand) {
      const open = [...this.requests.entries()].filter(([id]) => this.inProgress(id));
      return {
        CreateAccountStatuses: open.map(([id, r]) => ({ Id: id, State: 'IN_PROGRESS', AccountName: r.name })),
      };
    }
    if (command instanceof ListAccountsCommand) {
      const out = (await super.send(command, options)) as ListAccountsCommandOutput;
      const hidden = new Set(
        [...this.requests.entries()].filter(([id]) => this.inProgress(id)).map(([, r]) => r.real?.AccountId),
      );
      return { ...out, Accounts: (out.Accounts ?? []).filter((a) => !hidden.has(a.Id)) };
    }
    return super.send(command, options);
  }
}

/** Just the Sandbox OU and sv0-demo: what the CreateAccount paths need. */
function demoOnly(): DesiredOrg {
  const d = seedDesired();
  return {
    ...d,
    organizationalUnits: ['Sandbox'],
    accounts: d.accounts.filter((a) => a.name === 'sv0-demo'),
    policies: [],
    roles: [],
    budgets: [],
    identityCenter: undefined,
    cost: { allocationTags: [] },
    tagPolicy: undefined,
    connectorCredentials: undefined,
  };
}

describe('CreateAccount through a thin fake at the SDK-client boundary (moto answers SUCCEEDED at once)', () => {
  let env: TestWorkflowEnvironment;
  let moto: Moto;

  beforeAll(async () => {
    [env, moto] = await Promise.all([testEnv(), startOrgMoto()]);
  });
  afterAll(async () => {
    await moto?.stop();
  });
  beforeEach(async () => {
    await resetMoto(moto.endpoint);
  });

  it('polls IN_PROGRESS until SUCCEEDED, and a worker restarted between polls resumes the same request', async () => {
    const aws = awsFor(moto.endpoint);
    const organizations = new SlowCreateAccountClient(aws, { inProgressPolls: 6 });
    const activities = () =>
      createOrgBootstrapActivities(orgDeps(aws, new CallLog(), fakeCostExplorer([]).ce, organizations));
    const taskQueue = uniqueId('org-create');
    const workflowId = uniqueId('org-bootstrap');

    // Worker 1 stops while the activity is between polls.
    const handle = await env.client.workflow.start(orgBootstrapWorkflow, {
      taskQueue,
      workflowId,
      args: [{ desired: demoOnly() }],
    });
    await runWorker({ env, taskQueue, activities: activities() }, async () => {
      while (organizations.polls < 2) await new Promise((r) => setTimeout(r, 50));
      // The progress query while the account is being created.
      const progress = await handle.query(orgProgressQuery);
      expect(progress).toMatchObject({ phase: 'applying', total: 5, left: ['moveAccount:sv0-demo'] });
      expect(progress.running).toContain('createAccount:sv0-demo');
      expect(progress.done).toEqual(expect.arrayContaining(['createOrganization:ALL', 'enableScpType:root']));
    });
    expect(organizations.polls).toBeLessThan(6);

    // Worker 2 finishes the run.
    const result = await runWorker({ env, taskQueue, activities: activities() }, () => handle.result());
    expect(result.applied).toContain('createAccount:sv0-demo');
    expect(result.applied).toContain('moveAccount:sv0-demo');
    expect(organizations.creates).toBe(1);
    expect(organizations.polls).toBeGreaterThan(6);
    recordHistory(workflowId, 'org-bootstrap-worker-restart');

    const real = new OrganizationsClient(aws);
    const accounts = (await real.send(new ListAccountsCommand({}))).Accounts!.filter(
      (a) => a.Name === 'sv0-demo',
    );
    expect(accounts).toHaveLength(1);
    const [root] = (await real.send(new ListRootsCommand({}))).Roots!;
    const [sandbox] = (await real.send(new ListOrganizationalUnitsForParentCommand({ ParentId: root!.Id })))
      .OrganizationalUnits!;
    expect((await real.send(new ListParentsCommand({ ChildId: accounts[0]!.Id }))).Parents![0]!.Id).toBe(
      sandbox!.Id,
    );
  });

  it('fails non-retryably on FAILED, naming the account, the reason and the fix', async () => {
    const aws = awsFor(moto.endpoint);
    const organizations = new SlowCreateAccountClient(aws, {
      inProgressPolls: 0,
      failWith: 'EMAIL_ALREADY_EXISTS',
    });
    const activities = createOrgBootstrapActivities(
      orgDeps(aws, new CallLog(), fakeCostExplorer([]).ce, organizations),
    );
    const taskQueue = uniqueId('org-create');
    const err = await runWorker({ env, taskQueue, activities }, () =>
      env.client.workflow
        .execute(orgBootstrapWorkflow, {
          taskQueue,
          workflowId: uniqueId('org-bootstrap'),
          args: [{ desired: demoOnly() }],
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        ),
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const activityFailure = (err as WorkflowFailedError).cause as {
      cause?: { type?: string; message: string };
    };
    expect(activityFailure.cause?.type).toBe(ErrorType.AccountCreationFailed);
    expect(activityFailure.cause?.message).toBe(
      'account sv0-demo: CreateAccount FAILED with EMAIL_ALREADY_EXISTS for aws-sv0-demo@example.com; choose another email for this account in config/org.yaml (or invite the existing account into the organization)',
    );
    // Non-retryable: one request, one poll.
    expect(organizations.creates).toBe(1);
    expect(organizations.polls).toBe(1);
  });
});
