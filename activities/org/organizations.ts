import {
  AttachPolicyCommand,
  CreateOrganizationalUnitCommand,
  CreateOrganizationCommand,
  CreatePolicyCommand,
  DescribeOrganizationCommand,
  DescribePolicyCommand,
  DetachPolicyCommand,
  EnablePolicyTypeCommand,
  type Organization,
  type OrganizationsClient,
  paginateListAccountsForParent,
  paginateListTargetsForPolicy,
  ListTagsForResourceCommand,
  UpdatePolicyCommand,
} from '@aws-sdk/client-organizations';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType, FREEZE_POLICY_NAME } from '../../lib/names';
import { desiredPlaceholderEmails } from '../../lib/org/desired';
import { expandFreezeExemption } from '../../lib/org/freeze-exemption';
import {
  type DesiredOrg,
  type LiveOrg,
  type LivePolicy,
  type PlanStep,
  type TargetRef,
  targetRef,
} from '../../lib/org/types';
import { aws, awsErrorName, classifyAwsError } from '../aws/errors';
import { orgLookup, type PolicyType } from './lookup';

export interface OrganizationsDeps {
  /** Organizations client with management account credentials. */
  organizations: OrganizationsClient;
  sts: STSClient;
  /** True against moto: placeholder emails are fine there, refused against real AWS. */
  localEndpoint: () => Promise<boolean>;
}

/** The part of the live state that AWS Organizations holds. */
export type LiveOrganization = Omit<LiveOrg, 'roles' | 'budgets' | 'identityCenter' | 'cost'>;

type Step<K extends PlanStep['kind']> = Extract<PlanStep, { kind: K }>;

/**
 * AWS Organizations: read the organization, and the structural steps of the plan (organization,
 * SCP and tag policy types, OUs, SCPs, the tag policy and their attachments). Each step is idempotent: "already exists" and
 * "already attached" answers are success.
 */
export function createOrganizationsActivities(deps: OrganizationsDeps) {
  const { organizations, sts } = deps;
  const lookup = orgLookup(organizations);

  async function describeOrganization(): Promise<Organization | undefined> {
    try {
      return (await organizations.send(new DescribeOrganizationCommand({}))).Organization;
    } catch (err) {
      if (awsErrorName(err) === 'AWSOrganizationsNotInUseException') return undefined;
      throw classifyAwsError('DescribeOrganization', err);
    }
  }

  /** The policies of one type with their documents (customer ones) and where each is attached. */
  async function readPolicies(
    type: PolicyType,
    nameOfTarget: (id: string, type?: string) => TargetRef,
  ): Promise<{ policies: LivePolicy[]; attachments: { policy: string; target: TargetRef }[] }> {
    const policies: LivePolicy[] = [];
    const attachments: { policy: string; target: TargetRef }[] = [];
    for (const p of await lookup.policies(type)) {
      if (p.AwsManaged) {
        policies.push({
          id: p.Id!,
          name: p.Name!,
          description: p.Description ?? '',
          content: '',
          awsManaged: true,
        });
        continue;
      }
      const doc = await aws('DescribePolicy', () =>
        organizations.send(new DescribePolicyCommand({ PolicyId: p.Id })),
      );
      policies.push({
        id: p.Id!,
        name: p.Name!,
        description: p.Description ?? '',
        content: doc.Policy?.Content ?? '',
        awsManaged: false,
      });
      for await (const page of paginateListTargetsForPolicy({ client: organizations }, { PolicyId: p.Id })) {
        for (const t of page.Targets ?? [])
          attachments.push({ policy: p.Name!, target: nameOfTarget(t.TargetId!, t.Type) });
      }
    }
    return { policies, attachments };
  }

  /** Enable a policy type on the root; retried until AWS reports it enabled. */
  async function enablePolicyType(type: PolicyType, what: string): Promise<void> {
    const root = await lookup.root();
    const status = root.PolicyTypes?.find((p) => p.Type === type)?.Status;
    if (status === 'ENABLED') return;
    if (status !== 'PENDING_ENABLE') {
      try {
        await organizations.send(new EnablePolicyTypeCommand({ RootId: root.Id, PolicyType: type }));
      } catch (err) {
        if (awsErrorName(err) !== 'PolicyTypeAlreadyEnabledException')
          throw classifyAwsError('EnablePolicyType', err);
      }
    }
    const after = (await lookup.root()).PolicyTypes?.find((p) => p.Type === type)?.Status;
    // Enabling is asynchronous in AWS; failing here lets the retry policy wait with backoff.
    if (after !== 'ENABLED') throw new Error(`${what} on the root is ${after ?? 'not enabled'} yet`);
  }

  /** Attach or detach a policy of `type`; already attached (or not attached) is success. */
  async function setAttachment(
    type: PolicyType,
    step: { policy: string; target: TargetRef },
    attach: boolean,
  ): Promise<void> {
    const what = type === 'TAG_POLICY' ? 'tag policy' : 'SCP';
    const [PolicyId, TargetId] = await Promise.all([
      lookup.policyId(step.policy, type),
      lookup.targetId(step.target),
    ]);
    try {
      await organizations.send(
        attach
          ? new AttachPolicyCommand({ PolicyId, TargetId })
          : new DetachPolicyCommand({ PolicyId, TargetId }),
      );
    } catch (err) {
      const done = attach ? 'DuplicatePolicyAttachmentException' : 'PolicyNotAttachedException';
      if (awsErrorName(err) !== done)
        throw classifyAwsError(
          `${attach ? 'attach' : 'detach'} ${what} ${step.policy} ${attach ? 'to' : 'from'} ${step.target}`,
          err,
        );
    }
  }

  return {
    /**
     * Read the organization as it is: root, OUs under it, accounts with parents and tags, the
     * customer SCPs with their documents and attachments. Refuses placeholder emails against real
     * AWS, and credentials that are not the management account's.
     */
    async orgReadOrganization(input: { desired: DesiredOrg }): Promise<LiveOrganization> {
      const placeholders = desiredPlaceholderEmails(input.desired);
      if (placeholders.length > 0 && !(await deps.localEndpoint())) {
        throw ApplicationFailure.nonRetryable(
          `config/org.yaml, config/budgets.yaml: placeholder emails against real AWS (${placeholders.join(', ')}); use mailboxes you read`,
          ErrorType.BadConfig,
        );
      }
      const caller = (await aws('GetCallerIdentity', () => sts.send(new GetCallerIdentityCommand({}))))
        .Account!;
      const org = await describeOrganization();
      if (org?.MasterAccountId && org.MasterAccountId !== caller) {
        throw ApplicationFailure.nonRetryable(
          `the credentials are of account ${caller}, not of the management account ${org.MasterAccountId}; run the worker with management account credentials`,
          ErrorType.AccessDenied,
        );
      }
      const live: LiveOrganization = {
        managementAccountId: caller,
        scpEnabled: false,
        ous: [],
        accounts: [],
        policies: [],
        attachments: [],
        notes: [],
      };
      if (!org) {
        // A new organization has no tag policies; read them only when one is declared.
        if (input.desired.tagPolicy) live.tagPolicies = { enabled: false, policies: [], attachments: [] };
        return live;
      }
      live.organization = { id: org.Id!, featureSet: org.FeatureSet ?? 'ALL' };
      const root = await lookup.root();
      live.rootId = root.Id!;
      live.scpEnabled = (root.PolicyTypes ?? []).some(
        (p) => p.Type === 'SERVICE_CONTROL_POLICY' && p.Status === 'ENABLED',
      );
      live.ous = await lookup.ous(root.Id!);

      const parentOf = new Map<string, TargetRef>();
      for (const parent of [
        { id: root.Id!, ref: targetRef.root },
        ...live.ous.map((o) => ({ id: o.id, ref: targetRef.ou(o.name) })),
      ]) {
        for await (const page of paginateListAccountsForParent(
          { client: organizations },
          { ParentId: parent.id },
        )) {
          for (const a of page.Accounts ?? []) if (a.Id) parentOf.set(a.Id, parent.ref);
        }
      }
      for (const a of await lookup.accounts()) {
        const tags = await aws('ListTagsForResource', () =>
          organizations.send(new ListTagsForResourceCommand({ ResourceId: a.Id })),
        );
        live.accounts.push({
          id: a.Id!,
          name: a.Name ?? '',
          email: a.Email ?? '',
          status: String(a.State ?? a.Status ?? 'ACTIVE'),
          parent: parentOf.get(a.Id!) ?? 'ou-id:nested',
          tags: Object.fromEntries((tags.Tags ?? []).map((t) => [t.Key!, t.Value ?? ''])),
        });
      }

      const nameOfTarget = (id: string, type?: string): TargetRef => {
        if (type === 'ROOT') return targetRef.root;
        if (type === 'ORGANIZATIONAL_UNIT') {
          const ou = live.ous.find((o) => o.id === id);
          return ou ? targetRef.ou(ou.name) : `ou-id:${id}`;
        }
        const account = live.accounts.find((a) => a.id === id);
        return account ? targetRef.account(account.name) : `account-id:${id}`;
      };
      const scps = await readPolicies('SERVICE_CONTROL_POLICY', nameOfTarget);
      live.policies = scps.policies;
      live.attachments = scps.attachments;
      if (input.desired.tagPolicy) {
        live.tagPolicies = {
          enabled: (root.PolicyTypes ?? []).some((p) => p.Type === 'TAG_POLICY' && p.Status === 'ENABLED'),
          ...(await readPolicies('TAG_POLICY', nameOfTarget)),
        };
      }
      return live;
    },

    /** Create the organization with all features (SCPs need them). */
    async orgCreateOrganization(_step: Step<'createOrganization'>): Promise<void> {
      try {
        await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
      } catch (err) {
        if (awsErrorName(err) !== 'AlreadyInOrganizationException')
          throw classifyAwsError('CreateOrganization', err);
      }
    },

    /** Enable the SCP policy type on the root; retried until AWS reports it enabled. */
    async orgEnableScpType(_step: Step<'enableScpType'>): Promise<void> {
      await enablePolicyType('SERVICE_CONTROL_POLICY', 'SCP policy type');
    },

    /** Enable the tag policy type on the root; retried until AWS reports it enabled. */
    async orgEnableTagPolicyType(_step: Step<'enableTagPolicyType'>): Promise<void> {
      await enablePolicyType('TAG_POLICY', 'tag policy type');
    },

    /** Create the tag policy, or update its document and description to the declared ones. */
    async orgPutTagPolicy(step: Step<'createTagPolicy'> | Step<'updateTagPolicy'>): Promise<{ id: string }> {
      const update = async (id: string) => {
        await aws(`update tag policy ${step.policy}`, () =>
          organizations.send(
            new UpdatePolicyCommand({ PolicyId: id, Content: step.content, Description: step.description }),
          ),
        );
        return { id };
      };
      const existing = (await lookup.policies('TAG_POLICY')).find(
        (p) => p.Name === step.policy && !p.AwsManaged,
      );
      if (existing?.Id) return update(existing.Id);
      try {
        const out = await organizations.send(
          new CreatePolicyCommand({
            Name: step.policy,
            Description: step.description,
            Content: step.content,
            Type: 'TAG_POLICY',
          }),
        );
        return { id: out.Policy!.PolicySummary!.Id! };
      } catch (err) {
        // Created meanwhile (a retried attempt whose answer was lost): converge it instead.
        if (awsErrorName(err) === 'DuplicatePolicyException')
          return update(await lookup.policyId(step.policy, 'TAG_POLICY'));
        throw classifyAwsError(`create tag policy ${step.policy}`, err);
      }
    },

    /** Attach the tag policy to a declared target; already attached is success. */
    async orgAttachTagPolicy(step: Step<'attachTagPolicy'>): Promise<void> {
      await setAttachment('TAG_POLICY', step, true);
    },

    /** Detach the tag policy from a target that is not declared; not attached is success. */
    async orgDetachTagPolicy(step: Step<'detachTagPolicy'>): Promise<void> {
      await setAttachment('TAG_POLICY', step, false);
    },

    /** Create an OU under the root, unless one of that name exists. */
    async orgCreateOu(step: Step<'createOu'>): Promise<{ id: string }> {
      const root = await lookup.root();
      const existing = (await lookup.ous(root.Id!)).find((o) => o.name === step.ou);
      if (existing) return { id: existing.id };
      try {
        const out = await organizations.send(
          new CreateOrganizationalUnitCommand({ ParentId: root.Id, Name: step.ou }),
        );
        return { id: out.OrganizationalUnit!.Id! };
      } catch (err) {
        if (awsErrorName(err) === 'DuplicateOrganizationalUnitException')
          return { id: await lookup.ouId(step.ou) };
        throw classifyAwsError(`create OU ${step.ou}`, err);
      }
    },

    /**
     * Create an SCP, or update its document and description to the declared ones. A step that names
     * `exemptAccounts` (FreezeAccount, planned before those accounts existed) gets their live ids
     * written into its exemption here; an account still missing is left out for the next apply.
     */
    async orgPutPolicy(step: Step<'createPolicy'> | Step<'updatePolicy'>): Promise<{ id: string }> {
      let content = step.content;
      if (step.exemptAccounts) {
        const accounts = await lookup.accounts();
        const ids = step.exemptAccounts.flatMap((name) => accounts.find((a) => a.Name === name)?.Id ?? []);
        content = expandFreezeExemption(step.content, ids);
      }
      const existing = (await lookup.policies()).find((p) => p.Name === step.policy && !p.AwsManaged);
      if (existing?.Id) {
        await aws(`update SCP ${step.policy}`, () =>
          organizations.send(
            new UpdatePolicyCommand({
              PolicyId: existing.Id,
              Content: content,
              Description: step.description,
            }),
          ),
        );
        return { id: existing.Id };
      }
      const out = await aws(`create SCP ${step.policy}`, () =>
        organizations.send(
          new CreatePolicyCommand({
            Name: step.policy,
            Description: step.description,
            Content: content,
            Type: 'SERVICE_CONTROL_POLICY',
          }),
        ),
      );
      return { id: out.Policy!.PolicySummary!.Id! };
    },

    /** Attach an SCP to its declared target; already attached is success. Never FreezeAccount. */
    async orgAttachPolicy(step: Step<'attachPolicy'>): Promise<void> {
      refuseFreezePolicy(step.policy, 'attach');
      await setAttachment('SERVICE_CONTROL_POLICY', step, true);
    },

    /** Detach an SCP from a target that is not declared; not attached is success. Never FreezeAccount. */
    async orgDetachPolicy(step: Step<'detachPolicy'>): Promise<void> {
      refuseFreezePolicy(step.policy, 'detach');
      await setAttachment('SERVICE_CONTROL_POLICY', step, false);
    },
  };
}

/** The budget guard owns FreezeAccount attachments; the bootstrap never changes them. */
function refuseFreezePolicy(policy: string, verb: string): void {
  if (policy === FREEZE_POLICY_NAME) {
    throw ApplicationFailure.nonRetryable(
      `the org bootstrap does not ${verb} ${FREEZE_POLICY_NAME}; the budget guard owns it`,
      ErrorType.SandboxRefused,
    );
  }
}
