/**
 * AWS side of a demo's life, in the sandbox account reached through the deploy role: check the
 * target, create the tagged stack and wait for it, describe it, delete it and sweep what still
 * carries the demo's tag. Every call is idempotent: create finds an existing stack, delete of what
 * is gone is success. Every input is validated again here, every activity that changes something
 * runs the worker's sandbox check first, and only stacks named `sv0-demo-<id>` are created or
 * deleted.
 */
import {
  AlreadyExistsException,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  paginateListStackResources,
  waitUntilStackCreateComplete,
} from '@aws-sdk/client-cloudformation';
import { ApplicationFailure } from '@temporalio/common';
import {
  CreateDemoStackInputSchema,
  DemoResourcesInputSchema,
  DemoStackInputSchema,
  SandboxCheckInputSchema,
  type DemoResource,
  type DeployAccess,
  type FailedDeletion,
  type SandboxCheckInput,
} from '../../lib/contracts/demo';
import { ErrorType, Tags } from '../../lib/names';
import { validInput } from '../input';
import { isNotFound } from '../aws/errors';
import { heartbeat, withHeartbeat } from '../aws/heartbeat';
import { sandboxAccess, type DemoActivitiesDeps } from './target';
import {
  deleteTagged,
  findTagged,
  resourceRef,
  waitUntilStackGone,
  type TagClients,
} from './tagged-resources';

export function createDemoLifecycleActivities(deps: DemoActivitiesDeps) {
  const { session, sandboxSession } = sandboxAccess(deps);

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

  return {
    /**
     * Refuse (non-retryable SandboxRefused) unless the target is a sandbox account by the worker's
     * settings and the live organization. The input's `org` is not consulted.
     */
    async checkDemoTarget(raw: SandboxCheckInput): Promise<void> {
      const input = validInput(SandboxCheckInputSchema, raw, 'checkDemoTarget');
      await sandboxSession(input, 'sv0-guard');
    },

    /** Create the stack, or find the one a previous attempt created. Returns its id. */
    async createDemoStack(raw: {
      target: DeployAccess;
      stackName: string;
      templateBody: string;
      parameters: Record<string, string>;
      tags: Record<string, string>;
    }): Promise<{ stackId: string }> {
      const input = validInput(CreateDemoStackInputSchema, raw, 'createDemoStack');
      const c = await sandboxSession(input, input.stackName);
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
    async waitForDemoStackCreated(raw: { target: DeployAccess; stackName: string }): Promise<void> {
      const input = validInput(DemoStackInputSchema, raw, 'waitForDemoStackCreated');
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
    async describeDemoStack(raw: { target: DeployAccess; stackName: string }) {
      const input = validInput(DemoStackInputSchema, raw, 'describeDemoStack');
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
    async deleteDemoStack(raw: { target: DeployAccess; stackName: string }): Promise<{ error?: string }> {
      const input = validInput(DemoStackInputSchema, raw, 'deleteDemoStack');
      const c = await sandboxSession(input, input.stackName);
      try {
        await c.cloudformation.send(new DeleteStackCommand({ StackName: input.stackName }));
        await waitUntilStackGone(c, input.stackName);
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
    async sweepDemoResources(raw: {
      target: DeployAccess;
      demoId: string;
    }): Promise<{ deleted: DemoResource[]; failed: FailedDeletion[] }> {
      const input = validInput(DemoResourcesInputSchema, raw, 'sweepDemoResources');
      const c = await sandboxSession(input, `sv0-demo-${input.demoId}`);
      const deleted: DemoResource[] = [];
      const failed: FailedDeletion[] = [];
      for (const r of await findDemo(c, input.demoId)) {
        try {
          await deleteTagged(c, r);
          deleted.push(resourceRef(r));
        } catch (err) {
          failed.push({ ...resourceRef(r), error: (err as Error).message });
        }
        heartbeat(r.arn);
      }
      return { deleted, failed };
    },

    /** What still carries `sv0:demo=<id>` in the account. */
    async listDemoResources(raw: { target: DeployAccess; demoId: string }): Promise<DemoResource[]> {
      const input = validInput(DemoResourcesInputSchema, raw, 'listDemoResources');
      const c = await session(input.target, `sv0-demo-${input.demoId}`);
      return (await findDemo(c, input.demoId)).map(resourceRef);
    },
  };
}
