import {
  AttachPolicyCommand,
  CreateAccountCommand,
  CreateOrganizationalUnitCommand,
  CreateOrganizationCommand,
  DescribePolicyCommand,
  DetachPolicyCommand,
  ListAccountsCommand,
  ListParentsCommand,
  ListPoliciesCommand,
  ListRootsCommand,
  ListTagsForResourceCommand,
  ListTargetsForPolicyCommand,
  OrganizationsClient,
  ListOrganizationalUnitsForParentCommand,
  UpdatePolicyCommand,
} from '@aws-sdk/client-organizations';
import {
  type Budget,
  BudgetsClient,
  CreateBudgetCommand,
  DeleteBudgetCommand,
  DescribeBudgetCommand,
  DescribeBudgetsCommand,
  DescribeNotificationsForBudgetCommand,
} from '@aws-sdk/client-budgets';
import {
  DescribePermissionSetCommand,
  ListInstancesCommand,
  ListPermissionSetsCommand,
  SSOAdminClient,
} from '@aws-sdk/client-sso-admin';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createNotifyActivities } from '../../../activities/notify';
import { createOrgBootstrapActivities, type OrgBootstrapDeps } from '../../../activities/org';
import { GetTopicAttributesCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetRoleCommand, GetRolePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { createLogger } from '../../../lib/runtime/logger';
import { ErrorType } from '../../../lib/names';
import type { DesiredOrg } from '../../../lib/org/types';
import { connectorCredentialsTrustPolicy } from '../../../lib/org/connector-credentials';
import { expandFreezeExemption, exemptedPrincipals } from '../../../lib/org/freeze-exemption';
import { orgProgressQuery, type OrgBootstrapResult } from '../../../lib/contracts/org';
import { orgBootstrapWorkflow, orgDriftWorkflow } from '../../../workflows/org/bootstrap';
import type { Moto } from '../../../scripts/local-stack';
import { runWorker, testEnv, uniqueId } from '../../harness/temporal';
import { resetMoto } from '../../harness/aws';
import { recordHistory } from '../../harness/record-history';
import { startWebhookReceiver } from '../../harness/webhook';
import {
  awsFor,
  budgetsFake,
  CallLog,
  fakeCostExplorer,
  grossSpendFilter,
  orgDeps,
  seedDesired,
  startOrgMoto,
} from '../../harness/org-fixtures';
import { workerSettings } from '../../../lib/config/worker';

const SEED_REGION_LOCK = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'DenyNonApprovedRegions',
      Effect: 'Deny',
      NotAction: [
        'iam:*',
        'sts:*',
        'organizations:*',
        'budgets:*',
        'ce:*',
        'support:*',
        'health:*',
        'billing:*',
      ],
      Resource: '*',
      Condition: { StringNotEquals: { 'aws:RequestedRegion': ['us-east-1', 'us-west-2'] } },
    },
  ],
};

describe('org bootstrap against moto (Cost Explorer through a thin fake at the SDK-client boundary)', () => {
  let env: TestWorkflowEnvironment;
  let moto: Moto;
  let aws: ReturnType<typeof awsFor>;
  let org: OrganizationsClient;
  /** Budgets through a fake at the SDK-client boundary over moto (budget actions, subscribers, UpdateBudget). */
  let budgetsApi: ReturnType<typeof budgetsFake>;

  beforeAll(async () => {
    [env, moto] = await Promise.all([testEnv(), startOrgMoto()]);
    aws = awsFor(moto.endpoint);
    org = new OrganizationsClient(aws);
  });
  afterAll(async () => {
    await moto?.stop();
  });
  beforeEach(async () => {
    await resetMoto(moto.endpoint);
    budgetsApi = budgetsFake(new BudgetsClient(aws), { organizations: org });
  });

  const allTags = () => seedDesired().cost.allocationTags.map((key) => ({ key, status: 'Inactive' }));

  /** Dry run, then apply exactly that plan, on a worker with real moto clients. */
  async function planAndApply(
    desired: DesiredOrg,
    log: CallLog,
    ce = fakeCostExplorer(allTags()).ce,
    overrides: Partial<OrgBootstrapDeps> = {},
  ) {
    const taskQueue = uniqueId('org');
    budgetsApi.log = log;
    const activities = createOrgBootstrapActivities({
      ...orgDeps(aws, log, ce, undefined, budgetsApi),
      ...overrides,
    });
    return runWorker({ env, taskQueue, activities }, async () => {
      const plan = await env.client.workflow.execute(orgBootstrapWorkflow, {
        taskQueue,
        workflowId: uniqueId('org-bootstrap'),
        args: [{ desired, dryRun: true }],
      });
      const workflowId = uniqueId('org-bootstrap');
      const applied = await env.client.workflow.execute(orgBootstrapWorkflow, {
        taskQueue,
        workflowId,
        args: [{ desired, approvedSteps: plan.plan.steps }],
      });
      return { plan: plan.plan, applied, workflowId };
    });
  }

  async function accountsByName(): Promise<Map<string, string>> {
    const out = await org.send(new ListAccountsCommand({}));
    return new Map((out.Accounts ?? []).map((a) => [a.Name!, a.Id!]));
  }

  it("creates exactly config/org.yaml's organization from an empty moto; a second apply plans nothing and makes no changing call", async () => {
    const desired = seedDesired();
    const cost = fakeCostExplorer(allTags());
    const log = new CallLog();
    const first = await planAndApply(desired, log, cost.ce);
    expect(first.applied.applied.length).toBe(first.plan.steps.length);
    expect(first.plan.steps.length).toBeGreaterThan(30);
    recordHistory(first.workflowId, 'org-bootstrap-seed');
    // The same run, kept apart: org-bootstrap-seed.json keeps the run from before the backstop.
    recordHistory(first.workflowId, 'org-bootstrap-backstop');

    const [root] = (await org.send(new ListRootsCommand({}))).Roots!;
    const ous = (await org.send(new ListOrganizationalUnitsForParentCommand({ ParentId: root!.Id })))
      .OrganizationalUnits!;
    expect(ous.map((o) => o.Name).sort()).toEqual(['Platform', 'Sandbox', 'Security']);
    const ids = await accountsByName();
    for (const a of desired.accounts) {
      const id = ids.get(a.name)!;
      const parent = (await org.send(new ListParentsCommand({ ChildId: id }))).Parents![0]!;
      expect(ous.find((o) => o.Id === parent.Id)?.Name).toBe(a.ou);
      const tags = (await org.send(new ListTagsForResourceCommand({ ResourceId: id }))).Tags!;
      expect(Object.fromEntries(tags.map((t) => [t.Key, t.Value]))).toEqual(a.tags);
    }
    expect(ids.size).toBe(4); // the management account and the three members

    const policies = (
      await org.send(new ListPoliciesCommand({ Filter: 'SERVICE_CONTROL_POLICY' }))
    ).Policies!.filter((p) => !p.AwsManaged);
    expect(policies.map((p) => p.Name).sort()).toEqual([
      'DenyExpensiveServices',
      'DenyLargeEC2',
      'FreezeAccount',
      'RegionLock',
      'RestrictBedrockModels',
    ]);
    const targets: Record<string, string[]> = {};
    for (const p of policies) {
      const content = (await org.send(new DescribePolicyCommand({ PolicyId: p.Id }))).Policy!.Content!;
      const declared = desired.policies.find((d) => d.name === p.Name)!.content;
      // FreezeAccount exempts the deploy role of the sandbox account created by this same apply.
      expect(JSON.parse(content)).toEqual(
        JSON.parse(expandFreezeExemption(declared, [ids.get('sv0-demo')!])),
      );
      if (p.Name === 'FreezeAccount')
        expect(exemptedPrincipals(JSON.parse(content))).toEqual([
          `arn:aws:iam::${ids.get('sv0-demo')}:role/sv0-orchestrator-deploy`,
        ]);
      if (p.Name === 'RegionLock') expect(JSON.parse(content)).toEqual(SEED_REGION_LOCK);
      const t = (await org.send(new ListTargetsForPolicyCommand({ PolicyId: p.Id }))).Targets ?? [];
      targets[p.Name!] = t.map((x) => x.Name ?? x.TargetId!).sort();
    }
    expect(targets).toEqual({
      RegionLock: ['Root'],
      DenyExpensiveServices: ['Sandbox'],
      DenyLargeEC2: ['Sandbox'],
      RestrictBedrockModels: ['Sandbox'],
      FreezeAccount: [],
    });

    const budgets = new BudgetsClient(aws);
    const mgmt = first.plan.managementAccountId;
    const live = (await budgets.send(new DescribeBudgetsCommand({ AccountId: mgmt }))).Budgets!;
    expect(live.map((b) => [b.BudgetName, Number(b.BudgetLimit!.Amount)]).sort()).toEqual([
      ['sv0-demo', 200],
      ['sv0-platform', 300],
      ['sv0-security-tooling', 50],
      ['total', 500],
    ]);
    const demoBudget = live.find((b) => b.BudgetName === 'sv0-demo')!;
    expect(demoBudget.CostFilters?.LinkedAccount).toEqual([ids.get('sv0-demo')]);
    const totalNotes = await budgets.send(
      new DescribeNotificationsForBudgetCommand({ AccountId: mgmt, BudgetName: 'total' }),
    );
    expect(totalNotes.Notifications!.map((n) => n.Threshold).sort((a, b) => a! - b!)).toEqual([50, 80, 100]);
    // Gross spend, said explicitly: AWS would count credits, refunds and discounts by default.
    for (const b of live)
      expect(b.CostTypes).toMatchObject({
        IncludeCredit: false,
        IncludeRefund: false,
        IncludeDiscount: false,
        IncludeTax: true,
      });

    const sso = new SSOAdminClient(aws);
    const instanceArn = (await sso.send(new ListInstancesCommand({}))).Instances![0]!.InstanceArn;
    const sets = (await sso.send(new ListPermissionSetsCommand({ InstanceArn: instanceArn })))
      .PermissionSets!;
    const names = await Promise.all(
      sets.map(
        async (arn) =>
          (
            await sso.send(
              new DescribePermissionSetCommand({ InstanceArn: instanceArn, PermissionSetArn: arn }),
            )
          ).PermissionSet!.Name,
      ),
    );
    expect(names.sort()).toEqual(['AdministratorAccess', 'BillingAccess', 'ReadOnlyAccess']);

    // The deploy role in the sandbox account: trusted by the management account, with the external id.
    const activities = createOrgBootstrapActivities(orgDeps(aws, new CallLog(), cost.ce));
    const [deploy] = await activities.orgReadRoles({
      roles: [{ account: 'sv0-demo', accountId: ids.get('sv0-demo')!, name: 'sv0-orchestrator-deploy' }],
    });
    expect(deploy).toMatchObject({
      exists: true,
      trustedPrincipal: `arn:aws:iam::${mgmt}:root`,
      externalId: 'sv0-orchestrator-deploy-change-me',
      managedPolicies: ['arn:aws:iam::aws:policy/AdministratorAccess'],
    });

    // The connector credentials role in sv0-platform: the management account may assume it with
    // the external id, and it may assume SecurityV0-ReadOnly in sv0-security-tooling, nothing else.
    const credentialsRole = await activities.orgReadConnectorCredentialsRole({
      accountId: ids.get('sv0-platform')!,
      role: 'sv0-connector-credentials',
    });
    expect(credentialsRole.exists).toBe(true);
    expect(JSON.parse(credentialsRole.trustPolicy!)).toEqual(
      JSON.parse(connectorCredentialsTrustPolicy(mgmt, 'sv0-connector-credentials-change-me')),
    );
    expect(JSON.parse(credentialsRole.policy!).Statement).toEqual([
      {
        Sid: 'AssumeConnectorRoles',
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Resource: [`arn:aws:iam::${ids.get('sv0-security-tooling')}:role/SecurityV0-ReadOnly`],
      },
    ]);

    expect(cost.state.tags.every((t) => t.status === 'Active')).toBe(true);
    expect(cost.state.monitors).toEqual([{ name: 'sv0-services', dimension: 'SERVICE' }]);

    // The AWS-side backstop. In moto: the alerts topic and its policy, the role Budgets assumes.
    const topicArn = `arn:aws:sns:us-east-1:${mgmt}:sv0-budget-alerts`;
    const topic = await new SNSClient(aws).send(new GetTopicAttributesCommand({ TopicArn: topicArn }));
    const publishers = (
      JSON.parse(topic.Attributes!.Policy!) as {
        Statement: { Principal: { Service: string }; Action: string; Condition: unknown }[];
      }
    ).Statement.map((st) => [st.Principal.Service, st.Action, st.Condition]);
    expect(publishers).toEqual([
      [
        'budgets.amazonaws.com',
        'SNS:Publish',
        {
          StringEquals: { 'aws:SourceAccount': mgmt },
          ArnLike: { 'aws:SourceArn': `arn:aws:budgets::${mgmt}:*` },
        },
      ],
      ['costalerts.amazonaws.com', 'SNS:Publish', { StringEquals: { 'aws:SourceAccount': mgmt } }],
    ]);
    const iam = new IAMClient(aws);
    const role = (await iam.send(new GetRoleCommand({ RoleName: 'sv0-budgets-freeze' }))).Role!;
    expect(JSON.parse(decodeURIComponent(role.AssumeRolePolicyDocument!))).toMatchObject({
      Statement: [{ Principal: { Service: 'budgets.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    });
    const rolePolicy = await iam.send(
      new GetRolePolicyCommand({ RoleName: 'sv0-budgets-freeze', PolicyName: 'sv0-freeze-sandbox-accounts' }),
    );
    expect(JSON.parse(decodeURIComponent(rolePolicy.PolicyDocument!)).Statement[0].Resource).toEqual([
      `arn:aws:organizations::${mgmt}:policy/*/service_control_policy/*`,
      `arn:aws:organizations::${mgmt}:account/*/${ids.get('sv0-demo')}`,
    ]);
    // Through the Budgets fake (moto has no actions or subscribers): one automatic action, for
    // the one budget with freezeAt, and every notification also to the topic.
    const freezePolicyId = policies.find((p) => p.Name === 'FreezeAccount')!.Id;
    expect(budgetsApi.state.actions).toEqual([
      {
        ActionId: expect.any(String) as string,
        BudgetName: 'sv0-demo',
        NotificationType: 'ACTUAL',
        ActionType: 'APPLY_SCP_POLICY',
        ActionThreshold: { ActionThresholdValue: 100, ActionThresholdType: 'PERCENTAGE' },
        Definition: { ScpActionDefinition: { PolicyId: freezePolicyId, TargetIds: [ids.get('sv0-demo')] } },
        ExecutionRoleArn: `arn:aws:iam::${mgmt}:role/sv0-budgets-freeze`,
        ApprovalModel: 'AUTOMATIC',
        Status: 'STANDBY',
        Subscribers: [
          { SubscriptionType: 'SNS', Address: topicArn },
          { SubscriptionType: 'EMAIL', Address: 'billing@example.com' },
        ],
      },
    ]);
    for (const b of desired.budgets)
      for (const t of b.notify)
        expect(budgetsApi.state.subscribers.get(`${b.name}@${t}`)).toContainEqual({
          SubscriptionType: 'SNS',
          Address: topicArn,
        });
    expect(cost.state.subscriptions).toMatchObject([
      {
        name: 'sv0-services-alerts',
        monitorArns: ['arn:aws:ce::123456789012:anomalymonitor/1'],
        subscribers: [{ Type: 'SNS', Address: topicArn }],
        frequency: 'IMMEDIATE',
      },
    ]);

    log.clear();
    const second = await planAndApply(desired, log, cost.ce);
    expect(second.plan.steps).toEqual([]);
    expect(second.applied.applied).toEqual([]);
    expect(log.calls.length).toBeGreaterThan(0);
    expect(log.changing()).toEqual([]);
  });

  it('creates the tag policy with the declared sv0 values on the root; a hand edit and a detach show as drift and apply restores both', async () => {
    const desired = seedDesired();
    const cost = fakeCostExplorer(allTags());
    const first = await planAndApply(desired, new CallLog(), cost.ce);
    expect(first.plan.steps.filter((s) => /TagPolicy/.test(s.kind)).map((s) => s.id)).toEqual([
      'enableTagPolicyType:root',
      'createTagPolicy:sv0-tags',
      'attachTagPolicy:sv0-tags->root',
    ]);
    recordHistory(first.workflowId, 'org-bootstrap-tag-policy');
    const [root] = (await org.send(new ListRootsCommand({}))).Roots!;
    expect(root!.PolicyTypes).toContainEqual({ Type: 'TAG_POLICY', Status: 'ENABLED' });
    const [tagPolicy, ...others] = (await org.send(new ListPoliciesCommand({ Filter: 'TAG_POLICY' })))
      .Policies!;
    expect(others).toEqual([]);
    expect(tagPolicy!.Name).toBe('sv0-tags');
    const content = JSON.parse(
      (await org.send(new DescribePolicyCommand({ PolicyId: tagPolicy!.Id }))).Policy!.Content!,
    );
    expect(content.tags['sv0:project'].tag_value['@@assign']).toContain('demo-*');
    expect(content.tags['sv0:owner'].tag_value['@@assign']).toEqual(['ivan', 'automated', 'demo-script']);
    const targets = (await org.send(new ListTargetsForPolicyCommand({ PolicyId: tagPolicy!.Id }))).Targets!;
    expect(targets.map((t) => t.TargetId)).toEqual([root!.Id]);
    // SCP reads are unchanged by the tag policy: it is not listed as an SCP.
    expect(
      (await org.send(new ListPoliciesCommand({ Filter: 'SERVICE_CONTROL_POLICY' }))).Policies!.map(
        (p) => p.Name,
      ),
    ).not.toContain('sv0-tags');

    // Someone widens the owners by hand and detaches the policy: both are drift.
    content.tags['sv0:owner'].tag_value['@@assign'].push('mallory');
    await org.send(new UpdatePolicyCommand({ PolicyId: tagPolicy!.Id, Content: JSON.stringify(content) }));
    await org.send(new DetachPolicyCommand({ PolicyId: tagPolicy!.Id, TargetId: root!.Id }));
    const drift = await planAndApply(desired, new CallLog(), cost.ce);
    expect(drift.plan.steps.map((s) => s.summary)).toEqual([
      'update tag policy sv0-tags (sv0:owner: ivan, automated, demo-script; was ivan, automated, demo-script, mallory)',
      'attach tag policy sv0-tags to root',
    ]);
    const restored = JSON.parse(
      (await org.send(new DescribePolicyCommand({ PolicyId: tagPolicy!.Id }))).Policy!.Content!,
    );
    expect(restored.tags['sv0:owner'].tag_value['@@assign']).toEqual(['ivan', 'automated', 'demo-script']);
    const log = new CallLog();
    const last = await planAndApply(desired, log, cost.ce);
    expect(last.plan.steps).toEqual([]);
    expect(log.changing()).toEqual([]);
  });

  it('converges a partly built organization: an OU and one account already there, one SCP detached by hand', async () => {
    const desired = seedDesired();
    await org.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
    const [root] = (await org.send(new ListRootsCommand({}))).Roots!;
    await org.send(new CreateOrganizationalUnitCommand({ ParentId: root!.Id, Name: 'Sandbox' }));
    const demo = desired.accounts.find((a) => a.name === 'sv0-demo')!;
    const created = await org.send(new CreateAccountCommand({ AccountName: demo.name, Email: demo.email }));
    const demoId = created.CreateAccountStatus!.AccountId!;

    const cost = fakeCostExplorer(allTags());
    const first = await planAndApply(desired, new CallLog(), cost.ce);
    const ids = first.plan.steps.map((s) => s.id);
    expect(ids).not.toContain('createOu:Sandbox');
    expect(ids).not.toContain('createAccount:sv0-demo');
    expect(ids).toContain('moveAccount:sv0-demo');
    expect(ids).toContain('tagAccount:sv0-demo');
    expect((await accountsByName()).get('sv0-demo')).toBe(demoId);

    // Someone detaches the region lock by hand; the next plan is exactly the re-attachment.
    const regionLock = (
      await org.send(new ListPoliciesCommand({ Filter: 'SERVICE_CONTROL_POLICY' }))
    ).Policies!.find((p) => p.Name === 'RegionLock')!;
    await org.send(new DetachPolicyCommand({ PolicyId: regionLock.Id, TargetId: root!.Id }));
    const again = await planAndApply(desired, new CallLog(), cost.ce);
    expect(again.plan.steps.map((s) => s.id)).toEqual(['attachPolicy:RegionLock->root']);
    const third = await planAndApply(desired, new CallLog(), cost.ce);
    expect(third.plan.steps).toEqual([]);
  });

  it('a budget switched back to net spend behind the plan shows as drift, warns that gross spend freezes it now, and apply brings it back (UpdateBudget through a Budgets fake at the SDK-client boundary)', async () => {
    const desired = seedDesired();
    const cost = fakeCostExplorer(allTags());
    const first = await planAndApply(desired, new CallLog(), cost.ce);
    const budgets = new BudgetsClient(aws);
    const AccountId = first.plan.managementAccountId;
    const demoId = (await accountsByName()).get('sv0-demo')!;
    /** sv0-demo's budget deleted and created again by hand, the AWS way: $200 a month, 80 % alert. */
    const recreateDemoBudget = async (budget: Pick<Budget, 'CalculatedSpend' | 'CostTypes'>) => {
      await budgets.send(new DeleteBudgetCommand({ AccountId, BudgetName: 'sv0-demo' }));
      await budgets.send(
        new CreateBudgetCommand({
          AccountId,
          Budget: {
            BudgetName: 'sv0-demo',
            BudgetLimit: { Amount: '200', Unit: 'USD' },
            TimeUnit: 'MONTHLY',
            BudgetType: 'COST',
            CostFilters: { LinkedAccount: [demoId] },
            ...budget,
          },
          NotificationsWithSubscribers: [
            {
              Notification: {
                NotificationType: 'ACTUAL',
                ComparisonOperator: 'GREATER_THAN',
                Threshold: 80,
                ThresholdType: 'PERCENTAGE',
              },
              Subscribers: [{ SubscriptionType: 'EMAIL', Address: 'billing@example.com' }],
            },
          ],
        }),
      );
    };
    // Someone recreates sv0-demo's budget the AWS way: no CostTypes, so credits count and net spend is $0.
    await recreateDemoBudget({ CalculatedSpend: { ActualSpend: { Amount: '0', Unit: 'USD' } } });
    cost.state.grossSpend = 412.5;
    const fake = budgetsApi;
    const second = await planAndApply(desired, new CallLog(), cost.ce);
    expect(second.plan.steps.map((s) => s.id)).toEqual(['updateBudget:sv0-demo']);
    expect(second.plan.steps[0]!.summary).toContain('includeCredit true -> false');
    expect(second.plan.warnings).toEqual(['sv0-demo will freeze now: gross spend $412.50 of $200']);
    // Read for the dry run and again for the apply; only the budget that counts net spend is read.
    expect(cost.state.costQueries).toHaveLength(2);
    for (const q of cost.state.costQueries) expect(q.Filter).toEqual(grossSpendFilter(demoId));
    expect(fake.state.updates).toBe(1);
    const demo = (await budgets.send(new DescribeBudgetCommand({ AccountId, BudgetName: 'sv0-demo' })))
      .Budget!;
    expect(demo.CostTypes).toMatchObject({
      IncludeCredit: false,
      IncludeRefund: false,
      IncludeDiscount: false,
    });
    expect(demo.CostFilters?.LinkedAccount).toEqual([demoId]);

    // When the gross figure cannot be read, the plan says so instead of failing.
    await recreateDemoBudget({ CostTypes: { IncludeCredit: true } });
    cost.state.grossSpend = Object.assign(new Error('denied'), { name: 'AccessDeniedException' });
    const third = await planAndApply(desired, new CallLog(), cost.ce);
    expect(third.plan.steps.map((s) => s.id)).toEqual(['updateBudget:sv0-demo']);
    expect(third.plan.warnings).toEqual([
      'sv0-demo switches to gross spend, which could not be read (Cost Explorer GetCostAndUsage failed: AccessDeniedException): it may freeze as soon as this is applied',
    ]);
    const last = await planAndApply(desired, new CallLog(), cost.ce);
    expect(last.plan.steps).toEqual([]);
  });

  it('the drift check notifies about a hand-detached SCP, leaves a FreezeAccount attachment alone and reports the frozen account from the management account (its IAM denying everything, played at the SDK-client boundary)', async () => {
    const desired = seedDesired();
    const cost = fakeCostExplorer(allTags());
    await planAndApply(desired, new CallLog(), cost.ce);
    const [root] = (await org.send(new ListRootsCommand({}))).Roots!;
    const policies = (await org.send(new ListPoliciesCommand({ Filter: 'SERVICE_CONTROL_POLICY' })))
      .Policies!;
    const id = (name: string) => policies.find((p) => p.Name === name)!.Id;
    await org.send(new DetachPolicyCommand({ PolicyId: id('RegionLock'), TargetId: root!.Id }));
    // The budget guard froze sv0-demo: not drift.
    await org.send(
      new AttachPolicyCommand({
        PolicyId: id('FreezeAccount'),
        TargetId: (await accountsByName()).get('sv0-demo'),
      }),
    );

    const receiver = await startWebhookReceiver();
    try {
      const taskQueue = uniqueId('org-drift');
      // moto enforces no SCP: FreezeAccount is played at the SDK-client boundary, where IAM in the
      // frozen account denies everything (as the deny-all SCP does for OrganizationAccountAccessRole).
      const demoId = (await accountsByName()).get('sv0-demo')!;
      const deps = orgDeps(aws, new CallLog(), cost.ce, undefined, budgetsApi);
      const frozenReads: string[] = [];
      const iamFor = deps.iamFor;
      deps.iamFor = async (id) => {
        if (id !== demoId) return iamFor(id);
        frozenReads.push(id);
        throw Object.assign(new Error('explicit deny in a service control policy'), { name: 'AccessDenied' });
      };
      const activities = {
        ...createOrgBootstrapActivities(deps),
        ...createNotifyActivities({
          sns: new SNSClient(aws),
          logger: createLogger('test'),
          secrets: { resolveSecret: () => Promise.resolve(receiver.url) },
          settings: workerSettings({ secrets: { envNames: ['SV0_TEST_*'] } }),
        }),
      };
      const workflowId = uniqueId('org-drift');
      const plan = await runWorker({ env, taskQueue, activities }, () =>
        env.client.workflow.execute(orgDriftWorkflow, {
          taskQueue,
          workflowId,
          args: [{ desired, sinks: [{ type: 'webhook', name: 'test', urlRef: 'env:SV0_TEST_WEBHOOK' }] }],
        }),
      );
      expect(plan.steps.map((s) => s.id)).toEqual(['attachPolicy:RegionLock->root']);
      expect(plan.frozen).toEqual(['account:sv0-demo']);
      // The frozen account is reported, not read through its access role; the rest is checked.
      expect(plan.notes).toContain(
        'account sv0-demo is frozen (FreezeAccount attached): its roles were not read or changed, as the freeze denies OrganizationAccountAccessRole; everything else was checked from the management account',
      );
      expect(frozenReads).toEqual([]);
      const hit = await receiver.waitFor((r) => (r.body as { event?: string }).event === 'org.drift');
      expect((hit.body as { text: string }).text).toContain('attach SCP RegionLock to root');
      recordHistory(workflowId, 'org-drift');
    } finally {
      await receiver.close();
    }
  });

  it('refuses to apply when the live organization no longer gives the approved plan, and changes nothing', async () => {
    const desired = seedDesired();
    const taskQueue = uniqueId('org');
    const activities = createOrgBootstrapActivities(
      orgDeps(aws, new CallLog(), fakeCostExplorer(allTags()).ce),
    );
    await runWorker({ env, taskQueue, activities }, async () => {
      const { plan } = await env.client.workflow.execute(orgBootstrapWorkflow, {
        taskQueue,
        workflowId: uniqueId('org'),
        args: [{ desired, dryRun: true }],
      });
      // Meanwhile someone creates the organization by hand.
      await org.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
      const handle = await env.client.workflow.start(orgBootstrapWorkflow, {
        taskQueue,
        workflowId: uniqueId('org'),
        args: [{ desired, approvedSteps: plan.steps }],
      });
      const err = await handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause as { type?: string; message: string };
      expect(cause.type).toBe(ErrorType.PlanChanged);
      expect(cause.message).toContain('no longer needed: createOrganization:ALL');
      expect((await handle.query(orgProgressQuery)).done).toEqual([]);
    });
    expect((await accountsByName()).size).toBe(1);
  });

  it('returns the plan on a dry run and changes nothing', async () => {
    const log = new CallLog();
    const taskQueue = uniqueId('org');
    const activities = createOrgBootstrapActivities(orgDeps(aws, log, fakeCostExplorer(allTags()).ce));
    const result: OrgBootstrapResult = await runWorker({ env, taskQueue, activities }, () =>
      env.client.workflow.execute(orgBootstrapWorkflow, {
        taskQueue,
        workflowId: uniqueId('org'),
        args: [{ desired: seedDesired(), dryRun: true }],
      }),
    );
    expect(result.dryRun).toBe(true);
    expect(result.plan.steps[0]?.id).toBe('createOrganization:ALL');
    expect(log.changing()).toEqual([]);
  });
});
