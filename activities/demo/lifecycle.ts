/**
 * AWS side of a demo's life, in the sandbox account reached through the deploy role: check the
 * target, deploy the scenario (synthesizing a CDK app and uploading its assets to the demo's own
 * bucket) or a given template as the tagged stack and wait for it, describe it, delete it and sweep what still
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
import { CostExplorerClient } from '@aws-sdk/client-cost-explorer';
import { ApplicationFailure } from '@temporalio/common';
import { ASSET_BUCKET_PARAMETER, type Scenario } from '../../lib/config/scenarios';
import { ConfigError } from '../../lib/config/validate';
import {
  demoStackName,
  type DemoResource,
  type DeployAccess,
  type FailedDeletion,
} from '../../lib/contracts/demo';
import {
  CreateDemoStackInputSchema,
  DeployDemoScenarioInputSchema,
  DemoResourcesInputSchema,
  DemoStackInputSchema,
  SandboxCheckInputSchema,
  type SandboxCheckInput,
} from '../../lib/contracts/demo-inputs';
import { ErrorType, Tags } from '../../lib/names';
import { loadDeclaredOwners, loadScenario, scenarioTemplate } from '../../lib/runtime/config';
import { demoStackTags, tagValueAllowed } from '../../lib/org/tag-policy';
import { refuseInput, validInput } from '../input';
import { isNotFound, keepAwsErrorName } from '../aws/errors';
import { heartbeat, withHeartbeat } from '../aws/heartbeat';
import { demoAssetBucketName, ensureAssetBucket, refuseTakenRoleNames, uploadAssets } from './assets';
import { sandboxAccess, type DemoActivitiesDeps } from './target';
import { demoForecastCheck } from '../budget/forecast';
import {
  deleteTagged,
  findTagged,
  resourceRef,
  waitUntilStackGone,
  type TagClients,
} from './tagged-resources';

/** What the lifecycle activities are built with. */
export interface DemoLifecycleDeps extends DemoActivitiesDeps {
  /**
   * The worker's own config folder: demo scenarios are read (and apps synthesized) from its
   * `scenarios/`, never from a path a workflow passes.
   */
  configDir: string;
  /**
   * Cost Explorer in the management account, for budgets with `forecastAction: block-demos`.
   * @default a client from `aws` in us-east-1
   */
  ce?: Pick<CostExplorerClient, 'send'>;
}

export function createDemoLifecycleActivities(deps: DemoLifecycleDeps) {
  const { session, sandboxSession, checkNotFrozen } = sandboxAccess(deps);
  const refuseDemoOverForecast = demoForecastCheck({
    aws: deps.aws,
    ce: deps.ce ?? new CostExplorerClient({ ...deps.aws, region: 'us-east-1' }),
    configDir: deps.configDir,
  });

  /** The demo's tagged resources; a read AWS refuses fails with AWS's error code as its type. */
  const demoResources = (c: TagClients, demoId: string) =>
    findDemo(c, demoId).catch((err: unknown) => Promise.reject(keepAwsErrorName(err)));

  async function stackFailureReason(c: TagClients, stackName: string): Promise<string> {
    const events = await c.cloudformation
      .send(new DescribeStackEventsCommand({ StackName: stackName }))
      .catch(() => undefined);
    const failed = (events?.StackEvents ?? [])
      .filter((e) => /FAILED/.test(e.ResourceStatus ?? ''))
      .map((e) => `${e.LogicalResourceId}: ${e.ResourceStatusReason}`);
    return failed.slice(0, 5).join('; ') || 'no failure reason reported';
  }

  /** A scenario of the worker's own config folder; one it does not have is refused. */
  function workerScenario(name: string): Scenario {
    try {
      return loadScenario(deps.configDir, name);
    } catch (err) {
      if (err instanceof ConfigError) {
        throw ApplicationFailure.nonRetryable(
          `scenario ${name} is not deployable by this worker: ${err.message}`,
          ErrorType.BadConfig,
        );
      }
      throw err;
    }
  }

  async function createStack(
    c: TagClients,
    input: {
      stackName: string;
      templateBody: string;
      parameters: Record<string, string>;
      tags: Record<string, string>;
    },
  ): Promise<{ stackId: string }> {
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
  }

  /**
   * The owner must be one config/org.yaml's tag policy declares, in the worker's own config folder
   * (the CLI checks it too; a workflow input may come from anyone who can start one).
   */
  function refuseUndeclaredOwner(owner: string | undefined): void {
    let owners: string[] | undefined;
    try {
      owners = loadDeclaredOwners(deps.configDir);
    } catch (err) {
      if (err instanceof ConfigError)
        throw ApplicationFailure.nonRetryable(`the worker's ${err.message}`, ErrorType.BadConfig);
      throw err;
    }
    if (owners && !tagValueAllowed(owner ?? '', owners))
      refuseInput([
        `owner "${owner ?? ''}" is not declared in the worker's config/org.yaml (tagPolicy.values.${Tags.owner}: ${owners.join(', ')})`,
      ]);
  }

  /**
   * The demo's tagged resources. A bucket whose tags cannot be read (a deny policy, another
   * team's) is skipped unless its name is the demo's (`sv0-demo-<id>-`: its asset bucket and the
   * buckets its stack names); anything else unreadable fails the search.
   */
  async function findDemo(c: TagClients, demoId: string) {
    const own = `arn:aws:s3:::${demoStackName(demoId)}-`;
    return findTagged(
      c,
      Tags.demo,
      (tags) => tags[Tags.demo] === demoId,
      (problem, err) => {
        if (problem.type === 's3:bucket' && !problem.arn.startsWith(own)) return;
        throw err;
      },
    );
  }

  return {
    /**
     * Refuse (non-retryable SandboxRefused) unless the target is a sandbox account by the worker's
     * settings and the live organization, (AccountFrozen) when the account is frozen, and
     * (ForecastOverBudget) when a budget of the worker's budgets.yaml blocks demos on its forecast:
     * nothing changes there before this passes. The input's `org` is not consulted.
     */
    async checkDemoTarget(raw: SandboxCheckInput): Promise<void> {
      const input = validInput(SandboxCheckInputSchema, raw, 'checkDemoTarget');
      await checkNotFrozen(input.target);
      await sandboxSession(input, 'sv0-guard');
      await refuseDemoOverForecast(input.target.accountId);
    },

    /**
     * Create the stack from a template given in the input, or find the one a previous attempt
     * created. Returns its id. Demos started before scenarios were resolved by the worker call this.
     */
    async createDemoStack(raw: {
      target: DeployAccess;
      stackName: string;
      templateBody: string;
      parameters: Record<string, string>;
      tags: Record<string, string>;
    }): Promise<{ stackId: string }> {
      const input = validInput(CreateDemoStackInputSchema, raw, 'createDemoStack');
      const c = await sandboxSession(input, input.stackName);
      return createStack(c, input);
    },

    /**
     * Deploy a scenario of the worker's own config folder: read its template or synthesize its app
     * (in a child process with a clean environment), refuse fixed role names another demo holds,
     * upload the app's file assets to the demo's asset bucket, then create the stack (or find the
     * one a previous attempt created). The input names the scenario, never a file.
     */
    async deployDemoScenario(raw: {
      target: DeployAccess;
      stackName: string;
      demoId: string;
      scenario: string;
      tags: Record<string, string>;
    }): Promise<{ stackId: string }> {
      const input = validInput(DeployDemoScenarioInputSchema, raw, 'deployDemoScenario');
      if (input.stackName !== demoStackName(input.demoId)) {
        throw ApplicationFailure.nonRetryable(
          `deployDemoScenario: stackName ${input.stackName} is not the stack of demo ${input.demoId}`,
          ErrorType.BadConfig,
        );
      }
      const scenario = workerScenario(input.scenario);
      refuseUndeclaredOwner(input.tags[Tags.owner]);
      // The worker adds what the tag policy expects of every demo; stack tags propagate to resources.
      const tags = { ...input.tags, ...demoStackTags(scenario.name) };
      const c = await sandboxSession(input, input.stackName);
      const existing = await c.cloudformation
        .send(new DescribeStacksCommand({ StackName: input.stackName }))
        .catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
      const stackId = existing?.Stacks?.[0]?.StackId;
      if (stackId) return { stackId };
      const t = await scenarioTemplate(scenario).catch((err: unknown) => {
        if (err instanceof ConfigError) {
          throw ApplicationFailure.nonRetryable(
            `scenario ${scenario.name}: ${err.message}`,
            ErrorType.BadConfig,
          );
        }
        throw err;
      });
      try {
        await refuseTakenRoleNames(c, {
          scenario: scenario.name,
          demoId: input.demoId,
          accountId: input.target.accountId,
          templateBody: t.templateBody,
        });
        const parameters = { ...scenario.parameters };
        if (t.assets.length > 0) {
          const bucket = demoAssetBucketName(input.demoId, input.target.accountId);
          await ensureAssetBucket(c.s3, bucket, tags);
          await uploadAssets(c.s3, bucket, t.assets);
          parameters[ASSET_BUCKET_PARAMETER] = bucket;
        }
        return await createStack(c, { ...input, tags, templateBody: t.templateBody, parameters });
      } finally {
        t.dispose();
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
        // A deploy refused before it created anything leaves no stack: then nothing is sent at all.
        await c.cloudformation.send(new DescribeStacksCommand({ StackName: input.stackName }));
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
      for (const r of await demoResources(c, input.demoId)) {
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
      return (await demoResources(c, input.demoId)).map(resourceRef);
    },
  };
}
