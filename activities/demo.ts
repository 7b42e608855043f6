import {
  AlreadyExistsException,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  paginateListStackResources,
  waitUntilStackCreateComplete,
  waitUntilStackDeleteComplete,
} from '@aws-sdk/client-cloudformation';
import { ListAccountAliasesCommand } from '@aws-sdk/client-iam';
import {
  DescribeAccountCommand,
  DescribeOrganizationCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { Context, heartbeat } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { DeployAccess, FailedDeletion, SweepItem, SweepPlan } from '../lib/contracts/demo';
import { assertSandboxTarget, sweepVerdict, type GuardOrg } from '../lib/guards';
import { ErrorType, Tags } from '../lib/names';
import { assumeRoleConfig, type AwsClientConfig } from './aws-session';
import type { ResolveSecret } from './notify';
import {
  deleteTagged,
  findTagged,
  isNotFound,
  tagClients,
  type TagClients,
  type TaggedResource,
} from './tagged-resources';

/**
 * AWS side of demo lifecycles and the nightly sweep, in the sandbox account reached through the
 * deploy role (AssumeRole with the external id). Every call is idempotent: create finds an
 * existing stack, delete of what is gone is success.
 */

export interface DemoActivitiesDeps {
  /** Settings for the orchestrator's own (management account) credentials. */
  aws: AwsClientConfig;
  resolveSecret: ResolveSecret;
  /** Builds the per-account clients; tests wrap it to inject a failure at the SDK boundary. */
  makeClients?: (config: AwsClientConfig) => TagClients;
}

export interface SweepTargetInput {
  target: DeployAccess;
  org: GuardOrg;
  managementAccountId: string;
  runningDemoIds: string[];
  maxAgeMs: number;
}

const short = (r: TaggedResource | SweepItem) => ({ arn: r.arn, type: r.type });

export function createDemoActivities(deps: DemoActivitiesDeps) {
  const makeClients = deps.makeClients ?? tagClients;

  async function session(target: DeployAccess, sessionName: string): Promise<TagClients> {
    let externalId = target.externalId;
    if (target.externalIdRef) externalId = await deps.resolveSecret(target.externalIdRef);
    try {
      const config = await assumeRoleConfig(deps.aws, {
        accountId: target.accountId,
        roleName: target.roleName,
        externalId,
        sessionName,
      });
      return makeClients(config);
    } catch (err) {
      // The message names role and account, never the external id.
      const e = err as Error;
      if (/AccessDenied/.test(e.name)) {
        throw ApplicationFailure.nonRetryable(
          `cannot assume ${target.roleName} in ${target.accountId}: ${e.message}; check the role's trust policy and external id`,
          ErrorType.AccessDenied,
        );
      }
      throw err;
    }
  }

  /** Check the guards against the live organization and the account's own aliases. */
  async function guard(
    input: { target: DeployAccess; org: GuardOrg; managementAccountId: string },
    c: TagClients,
  ) {
    const orgs = new OrganizationsClient(deps.aws);
    const live = await orgs.send(new DescribeOrganizationCommand({}));
    const liveMgmt = live.Organization?.MasterAccountId ?? '';
    if (liveMgmt !== input.managementAccountId) {
      throw ApplicationFailure.nonRetryable(
        `the organization's management account is ${liveMgmt}, not ${input.managementAccountId} as given`,
        ErrorType.GuardRefused,
      );
    }
    const account = await orgs.send(new DescribeAccountCommand({ AccountId: input.target.accountId }));
    const aliases = (await c.iam.send(new ListAccountAliasesCommand({}))).AccountAliases ?? [];
    assertSandboxTarget({
      accountId: input.target.accountId,
      accountName: account.Account?.Name ?? '',
      aliases,
      org: input.org,
      managementAccountId: liveMgmt,
    });
  }

  /** Run `fn` while heartbeating, so a long wait is not mistaken for a dead worker. */
  async function withHeartbeat<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const timer = setInterval(() => heartbeat(), 5000);
    try {
      return await fn(Context.current().cancellationSignal);
    } finally {
      clearInterval(timer);
    }
  }

  async function stackFailureReason(c: TagClients, stackName: string): Promise<string> {
    const events = await c.cloudformation
      .send(new DescribeStackEventsCommand({ StackName: stackName }))
      .catch(() => undefined);
    const failed = (events?.StackEvents ?? [])
      .filter((e) => /FAILED/.test(e.ResourceStatus ?? ''))
      .map((e) => `${e.LogicalResourceId}: ${e.ResourceStatusReason}`);
    return failed.slice(0, 5).join('; ') || 'no failure reason reported';
  }

  async function findDemo(c: TagClients, demoId: string) {
    return findTagged(c, Tags.demo, (tags) => tags[Tags.demo] === demoId);
  }

  async function planSweep(input: SweepTargetInput & { now: number }): Promise<SweepPlan> {
    const c = await session(input.target, 'sv0-sweep');
    await guard(input, c);
    const running = new Set(input.runningDemoIds);
    const plan: SweepPlan = { accountId: input.target.accountId, stacks: [], resources: [], kept: [] };
    for (const r of await findTagged(c, Tags.ephemeral, () => true)) {
      const v = sweepVerdict({
        tags: r.tags,
        createdAt: r.createdAt,
        now: input.now,
        maxAgeMs: input.maxAgeMs,
        runningDemoIds: running,
      });
      const item = { ...short(r), reason: v.reason };
      if (!v.sweep) plan.kept.push(item);
      else if (r.type === 'cloudformation:stack') plan.stacks.push(item);
      else plan.resources.push(item);
    }
    return plan;
  }

  return {
    /** Refuse (non-retryable GuardRefused) unless the target is a sandbox account per config and live org. */
    async checkDemoTarget(input: {
      target: DeployAccess;
      org: GuardOrg;
      managementAccountId: string;
    }): Promise<void> {
      await guard(input, await session(input.target, 'sv0-guard'));
    },

    /** Create the stack, or find the one a previous attempt created. Returns its id. */
    async createDemoStack(input: {
      target: DeployAccess;
      stackName: string;
      templateBody: string;
      parameters: Record<string, string>;
      tags: Record<string, string>;
    }): Promise<{ stackId: string }> {
      const c = await session(input.target, input.stackName);
      try {
        const out = await c.cloudformation.send(
          new CreateStackCommand({
            StackName: input.stackName,
            TemplateBody: input.templateBody,
            Parameters: Object.entries(input.parameters).map(([ParameterKey, ParameterValue]) => ({
              ParameterKey,
              ParameterValue,
            })),
            Tags: Object.entries(input.tags).map(([Key, Value]) => ({ Key, Value })),
            Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'],
            OnFailure: 'DO_NOTHING',
          }),
        );
        return { stackId: out.StackId ?? input.stackName };
      } catch (err) {
        if (err instanceof AlreadyExistsException) {
          const d = await c.cloudformation.send(new DescribeStacksCommand({ StackName: input.stackName }));
          return { stackId: d.Stacks?.[0]?.StackId ?? input.stackName };
        }
        if ((err as Error).name === 'ValidationError') {
          throw ApplicationFailure.nonRetryable(
            `stack ${input.stackName}: ${(err as Error).message}`,
            ErrorType.StackFailed,
          );
        }
        throw err;
      }
    },

    /** Wait (heartbeating) until the stack is CREATE_COMPLETE; a failed create is non-retryable StackFailed. */
    async waitForDemoStackCreated(input: { target: DeployAccess; stackName: string }): Promise<void> {
      const c = await session(input.target, input.stackName);
      try {
        await withHeartbeat((abortSignal) =>
          waitUntilStackCreateComplete(
            { client: c.cloudformation, maxWaitTime: 3600, minDelay: 2, maxDelay: 15, abortSignal },
            { StackName: input.stackName },
          ),
        );
      } catch (err) {
        if ((err as Error).name === 'AbortError') throw err;
        const reason = await stackFailureReason(c, input.stackName);
        throw ApplicationFailure.nonRetryable(
          `stack ${input.stackName} did not create: ${reason}`,
          ErrorType.StackFailed,
        );
      }
    },

    /** The stack's outputs and resources, for the query and the summary. */
    async describeDemoStack(input: { target: DeployAccess; stackName: string }) {
      const c = await session(input.target, input.stackName);
      const d = await c.cloudformation.send(new DescribeStacksCommand({ StackName: input.stackName }));
      const outputs = Object.fromEntries(
        (d.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']),
      );
      const resources: { logicalId: string; type: string; physicalId: string }[] = [];
      for await (const page of paginateListStackResources(
        { client: c.cloudformation },
        { StackName: input.stackName },
      )) {
        for (const r of page.StackResourceSummaries ?? []) {
          resources.push({
            logicalId: r.LogicalResourceId ?? '',
            type: r.ResourceType ?? '',
            physicalId: r.PhysicalResourceId ?? '',
          });
        }
      }
      return { outputs, resources };
    },

    /** Delete the stack and wait (heartbeating) until it is gone. Returns the failure reason, if any. */
    async deleteDemoStack(input: { target: DeployAccess; stackName: string }): Promise<{ error?: string }> {
      const c = await session(input.target, input.stackName);
      try {
        await c.cloudformation.send(new DeleteStackCommand({ StackName: input.stackName }));
        await withHeartbeat((abortSignal) =>
          waitUntilStackDeleteComplete(
            { client: c.cloudformation, maxWaitTime: 3600, minDelay: 2, maxDelay: 15, abortSignal },
            { StackName: input.stackName },
          ),
        );
        return {};
      } catch (err) {
        if (isNotFound(err)) return {};
        if ((err as Error).name === 'AbortError') throw err;
        return {
          error: `stack ${input.stackName} did not delete: ${await stackFailureReason(c, input.stackName)}`,
        };
      }
    },

    /** Delete every resource still tagged `sv0:demo=<id>` (stack leftovers, anything made by hand). */
    async sweepDemoResources(input: {
      target: DeployAccess;
      demoId: string;
    }): Promise<{ deleted: { arn: string; type: string }[]; failed: FailedDeletion[] }> {
      const c = await session(input.target, `sv0-demo-${input.demoId}`);
      const deleted: { arn: string; type: string }[] = [];
      const failed: FailedDeletion[] = [];
      for (const r of await findDemo(c, input.demoId)) {
        try {
          await deleteTagged(c, r);
          deleted.push(short(r));
        } catch (err) {
          failed.push({ ...short(r), error: (err as Error).message });
        }
        heartbeat(r.arn);
      }
      return { deleted, failed };
    },

    /** What still carries `sv0:demo=<id>` in the account. */
    async listDemoResources(input: {
      target: DeployAccess;
      demoId: string;
    }): Promise<{ arn: string; type: string }[]> {
      const c = await session(input.target, `sv0-demo-${input.demoId}`);
      return (await findDemo(c, input.demoId)).map(short);
    },

    /**
     * The nightly sweep's plan for one account: ephemeral-tagged resources older than `maxAgeMs`
     * or past their `sv0:ttl`, not owned by a running demo. Guards run first, against live data.
     */
    async planAccountSweep(input: SweepTargetInput & { now: number }): Promise<SweepPlan> {
      return planSweep(input);
    },

    /**
     * Delete the approved items of one sweep step. The plan is recomputed here and only items that
     * are still candidates are touched, so a tag removed or a demo started since the plan is respected.
     */
    async applyAccountSweep(
      input: SweepTargetInput & { now: number; step: 'stacks' | 'resources'; approved: string[] },
    ): Promise<{ deleted: { arn: string; type: string }[]; failed: FailedDeletion[] }> {
      const fresh = await planSweep(input);
      const approved = new Set(input.approved);
      const items = (input.step === 'stacks' ? fresh.stacks : fresh.resources).filter((i) =>
        approved.has(i.arn),
      );
      const c = await session(input.target, 'sv0-sweep');
      const deleted: { arn: string; type: string }[] = [];
      const failed: FailedDeletion[] = [];
      for (const item of items) {
        try {
          await deleteTagged(c, item);
          if (item.type === 'cloudformation:stack') {
            await withHeartbeat((abortSignal) =>
              waitUntilStackDeleteComplete(
                { client: c.cloudformation, maxWaitTime: 3600, minDelay: 2, maxDelay: 15, abortSignal },
                { StackName: item.arn },
              ),
            );
          }
          deleted.push(short(item));
        } catch (err) {
          if (isNotFound(err)) deleted.push(short(item));
          else failed.push({ ...short(item), error: (err as Error).message });
        }
        heartbeat(item.arn);
      }
      return { deleted, failed };
    },
  };
}
