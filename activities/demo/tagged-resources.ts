import {
  CloudFormationClient,
  DeleteStackCommand,
  paginateDescribeStacks,
  waitUntilStackDeleteComplete,
} from '@aws-sdk/client-cloudformation';
import {
  CloudWatchLogsClient,
  DeleteLogGroupCommand,
  ListTagsForResourceCommand as LogsListTags,
  paginateDescribeLogGroups,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTagsOfResourceCommand,
  paginateListTables,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteRepositoryCommand,
  ECRClient,
  ListTagsForResourceCommand as EcrListTags,
  paginateDescribeRepositories,
} from '@aws-sdk/client-ecr';
import {
  DeleteRuleCommand,
  EventBridgeClient,
  ListEventBusesCommand,
  ListRulesCommand,
  ListTagsForResourceCommand as EventsListTags,
  ListTargetsByRuleCommand,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  DeleteOpenIDConnectProviderCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  GetOpenIDConnectProviderCommand,
  IAMClient,
  ListOpenIDConnectProvidersCommand,
  ListOpenIDConnectProviderTagsCommand,
  ListRoleTagsCommand,
  paginateListAttachedRolePolicies,
  paginateListInstanceProfilesForRole,
  paginateListRolePolicies,
  paginateListRoles,
  RemoveRoleFromInstanceProfileCommand,
} from '@aws-sdk/client-iam';
import {
  DeleteFunctionCommand,
  LambdaClient,
  ListTagsCommand,
  paginateListAliases,
  paginateListFunctions,
  paginateListVersionsByFunction,
} from '@aws-sdk/client-lambda';
import {
  paginateGetResources,
  ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
import {
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetBucketTaggingCommand,
  ListBucketsCommand,
  ListObjectVersionsCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  DeleteSecretCommand,
  paginateListSecrets,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  DeleteStateMachineCommand,
  ListTagsForResourceCommand as SfnListTags,
  paginateListStateMachines,
  SFNClient,
} from '@aws-sdk/client-sfn';
import {
  DeleteTopicCommand,
  ListTagsForResourceCommand as SnsListTags,
  paginateListTopics,
  SNSClient,
} from '@aws-sdk/client-sns';
import { configuredEndpoint, type AwsClientConfig } from '../../lib/runtime/aws';
import { isNotFound } from '../aws/errors';
import { withHeartbeat } from '../aws/heartbeat';

/**
 * Find and delete resources by tag in one account. The tagging API's GetResources is the first
 * source; per-service listings add what it misses (IAM roles never appear there, and some
 * services' tags set by CloudFormation are invisible to it), so a sweep is not fooled by a gap.
 */

/** The clients one account needs; tests may wrap one to inject a failure at the SDK boundary. */
export interface TagClients {
  tagging: ResourceGroupsTaggingAPIClient;
  cloudformation: CloudFormationClient;
  iam: IAMClient;
  s3: S3Client;
  lambda: LambdaClient;
  sns: SNSClient;
  sfn: SFNClient;
  dynamodb: DynamoDBClient;
  secretsmanager: SecretsManagerClient;
  logs: CloudWatchLogsClient;
  events: EventBridgeClient;
  ecr: ECRClient;
  /**
   * The same account's clients in another region (the activities' sessions set it); without it,
   * every region is this one.
   */
  inRegion?: (region: string) => TagClients;
}

/** The clients for the region an ARN names (IAM's and S3's ARNs name none: these clients). */
export function clientsFor(c: TagClients, arn: string): TagClients {
  const region = arn.split(':')[3];
  return region && c.inRegion ? c.inRegion(region) : c;
}

/**
 * An S3 client that addresses buckets path-style wherever an endpoint override is in force (moto
 * and other S3 stand-ins serve no bucket subdomains), and virtual-hosted style against AWS.
 */
export function s3Client(config: AwsClientConfig): S3Client {
  // S3's endpoint parameter `forcePathStyle` takes a provider, resolved per request once the
  // client knows its endpoint; the client's config type declares only the boolean.
  const pathStyleWhereConfigured = async () => (await configuredEndpoint(client)) !== undefined;
  const client: S3Client = new S3Client({
    ...config,
    // A bucket of another region answers with a redirect: follow it instead of failing the read.
    followRegionRedirects: true,
    forcePathStyle: config.forcePathStyle ?? (pathStyleWhereConfigured as unknown as boolean),
  });
  return client;
}

/** Build real clients for one account's settings. */
export function tagClients(config: AwsClientConfig): TagClients {
  return {
    tagging: new ResourceGroupsTaggingAPIClient(config),
    cloudformation: new CloudFormationClient(config),
    iam: new IAMClient(config),
    s3: s3Client(config),
    lambda: new LambdaClient(config),
    sns: new SNSClient(config),
    sfn: new SFNClient(config),
    dynamodb: new DynamoDBClient(config),
    secretsmanager: new SecretsManagerClient(config),
    logs: new CloudWatchLogsClient(config),
    events: new EventBridgeClient(config),
    ecr: new ECRClient(config),
  };
}

/** A resource found by its tags. `type` is `service:kind`, e.g. `s3:bucket`, `iam:role`. */
export interface TaggedResource {
  arn: string;
  type: string;
  tags: Record<string, string>;
  /**
   * ISO-8601 creation (or, for a Lambda function or version, last modification) time where the
   * service reports one.
   */
  createdAt?: string;
}

/** A resource as reports name it: its ARN and `service:kind`. */
export function resourceRef(r: Pick<TaggedResource, 'arn' | 'type'>): { arn: string; type: string } {
  return { arn: r.arn, type: r.type };
}

/** `service:kind` from an ARN: arn:aws:iam::1:role/x -> iam:role, arn:aws:s3:::b -> s3:bucket. */
function resourceType(arn: string): string {
  const [, , service = '', , , rest = ''] = arn.split(':');
  const resource = arn.split(':').slice(5).join(':');
  if (service === 's3' && !resource.includes('/')) return 's3:bucket';
  if (service === 'sns') return 'sns:topic';
  // A published version: function:<name>:<number> (an unqualified ARN is the function).
  if (service === 'lambda' && /^function:[^:]+:[0-9]+$/.test(resource)) return 'lambda:version';
  const kind = /^([A-Za-z-]+)[/:]/.exec(resource)?.[1] ?? rest;
  return `${service}:${kind}`;
}

function toMap(
  tags: { Key?: string; Value?: string }[] | Record<string, string> | undefined,
): Record<string, string> {
  if (!tags) return {};
  if (!Array.isArray(tags)) return { ...tags };
  return Object.fromEntries(tags.filter((t) => t.Key !== undefined).map((t) => [t.Key!, t.Value ?? '']));
}

const iso = (d: Date | string | undefined) => (d === undefined ? undefined : new Date(d).toISOString());

/** What could not be read, with AWS's reason. */
export interface UnreadableResource {
  arn: string;
  type: string;
  error: string;
}

/**
 * Where a search puts what it cannot read: a list (collected, the search goes on), or a function
 * that decides per resource (returns: skipped; throws: the search fails with that error).
 */
export type UnreadableHandler = UnreadableResource[] | ((problem: UnreadableResource, err: unknown) => void);

/**
 * Every resource in the account whose tags satisfy `match`, by ARN, tags merged from every source.
 * With `unreadable`, what cannot be read (one resource's tags, or a service's listing: a bucket
 * with a deny policy, a permission missing) is collected there with AWS's reason (or handed to it,
 * when it is a function) and the search goes on; without it, such a failure fails the search.
 * `regions`: the regional services are listed in each (through {@link TagClients.inRegion}); IAM
 * (roles, OIDC providers) and S3 are global and listed once. Default: the clients' own region.
 */
export async function findTagged(
  c: TagClients,
  tagKey: string,
  match: (tags: Record<string, string>) => boolean,
  unreadable?: UnreadableHandler,
  regions?: readonly string[],
): Promise<TaggedResource[]> {
  return (await listResources(c, tagKey, unreadable, regions)).filter(
    (r) => tagKey in r.tags && match(r.tags),
  );
}

/**
 * Every resource the listings see in the account, tagged or not, with its tags (empty when it has
 * none) and creation time; the tagging API adds what carries `tagKey` that no listing covers.
 * `unreadable` and `regions` as in {@link findTagged}.
 */
export async function listResources(
  c: TagClients,
  tagKey: string,
  unreadable?: UnreadableHandler,
  regions?: readonly string[],
): Promise<TaggedResource[]> {
  const found = new Map<string, TaggedResource>();
  const add = (listed: string, tags: Record<string, string>, createdAt?: string) => {
    // A log group is one resource whether an API names it with its streams' `:*` or without.
    const arn = listed.replace(/(:log-group:[^:]+):\*$/, '$1');
    const prev = found.get(arn);
    found.set(arn, {
      arn,
      type: resourceType(arn),
      tags: { ...prev?.tags, ...tags },
      createdAt: createdAt ?? prev?.createdAt,
    });
  };
  const problem = (arn: string, err: unknown): UnreadableResource => {
    const e = err as Error;
    return { arn, type: resourceType(arn), error: `${e.name ?? 'Error'}: ${e.message ?? String(err)}` };
  };
  /** Collect (or hand over) what could not be read; without a handler, fail with its error. */
  const cannotRead = (p: UnreadableResource, err: unknown) => {
    if (!unreadable) throw err;
    if (Array.isArray(unreadable)) unreadable.push(p);
    else unreadable(p, err);
  };
  /** One resource's tags; gone is no tags, unreadable is undefined (after {@link cannotRead}). */
  const tagsOf = (arn: string) => async (fn: () => Promise<Record<string, string>>) =>
    fn().catch((err: unknown) => {
      if (isNotFound(err)) return {};
      cannotRead(problem(arn, err), err);
      return undefined;
    });
  /** One service's listing; unreadable is reported as `<service>:*`. */
  const listing = async (service: string, fn: () => Promise<void>, region = '') => {
    try {
      await fn();
    } catch (err) {
      cannotRead({ ...problem(`arn:aws:${service}:${region}::*`, err), type: `${service}:*` }, err);
    }
  };

  const home = await c.tagging.config.region();
  for (const region of regions?.length ? regions : [home]) {
    const rc = region === home || !c.inRegion ? c : c.inRegion(region);
    await listing(
      'tag',
      async () => {
        for await (const page of paginateGetResources(
          { client: rc.tagging },
          { TagFilters: [{ Key: tagKey }] },
        )) {
          for (const r of page.ResourceTagMappingList ?? [])
            if (r.ResourceARN) add(r.ResourceARN, toMap(r.Tags));
        }
      },
      region,
    );
    await listing(
      'lambda',
      async () => {
        for await (const page of paginateListFunctions({ client: rc.lambda }, {})) {
          for (const f of page.Functions ?? []) {
            if (!f.FunctionArn) continue;
            const fn = f.FunctionArn;
            const tags = await tagsOf(fn)(async () =>
              toMap((await rc.lambda.send(new ListTagsCommand({ Resource: fn }))).Tags),
            );
            if (!tags) continue;
            add(fn, tags, iso(f.LastModified));
            // Published versions keep their code (and its storage) after $LATEST moved on; each
            // carries its function's tags and is aged by its own date.
            const versions = await publishedVersions(rc.lambda, f.FunctionName ?? fn).catch(
              (err: unknown) => {
                if (!isNotFound(err)) cannotRead(problem(fn, err), err);
                return [];
              },
            );
            for (const v of versions) add(`${fn}:${v.version}`, tags, iso(v.lastModified));
          }
        }
      },
      region,
    );
    await listing(
      'sns',
      async () => {
        for await (const page of paginateListTopics({ client: rc.sns }, {})) {
          for (const t of page.Topics ?? []) {
            if (!t.TopicArn) continue;
            const tags = await tagsOf(t.TopicArn)(async () =>
              toMap((await rc.sns.send(new SnsListTags({ ResourceArn: t.TopicArn }))).Tags),
            );
            if (tags) add(t.TopicArn, tags);
          }
        }
      },
      region,
    );
    await listing(
      'states',
      async () => {
        for await (const page of paginateListStateMachines({ client: rc.sfn }, {})) {
          for (const m of page.stateMachines ?? []) {
            if (!m.stateMachineArn) continue;
            const tags = await tagsOf(m.stateMachineArn)(async () =>
              toMap(
                (await rc.sfn.send(new SfnListTags({ resourceArn: m.stateMachineArn }))).tags?.map((t) => ({
                  Key: t.key,
                  Value: t.value,
                })),
              ),
            );
            if (tags) add(m.stateMachineArn, tags, iso(m.creationDate));
          }
        }
      },
      region,
    );
    await listing(
      'dynamodb',
      async () => {
        for await (const page of paginateListTables({ client: rc.dynamodb }, {})) {
          for (const name of page.TableNames ?? []) {
            const table = (await rc.dynamodb.send(new DescribeTableCommand({ TableName: name }))).Table;
            if (!table?.TableArn) continue;
            const arn = table.TableArn;
            const tags = await tagsOf(arn)(async () =>
              toMap((await rc.dynamodb.send(new ListTagsOfResourceCommand({ ResourceArn: arn }))).Tags),
            );
            if (tags) add(arn, tags, iso(table.CreationDateTime));
          }
        }
      },
      region,
    );
    // Secrets scheduled for deletion still exist (and keep their name) for up to 30 days: list them too.
    await listing(
      'secretsmanager',
      async () => {
        for await (const page of paginateListSecrets(
          { client: rc.secretsmanager },
          { IncludePlannedDeletion: true },
        )) {
          for (const s of page.SecretList ?? []) {
            if (s.ARN) add(s.ARN, toMap(s.Tags), iso(s.CreatedDate));
          }
        }
      },
      region,
    );
    await listing(
      'logs',
      async () => {
        for await (const page of paginateDescribeLogGroups({ client: rc.logs }, {})) {
          for (const g of page.logGroups ?? []) {
            // `arn` ends in `:*` (the group's streams); the group itself is the ARN without it.
            const arn = g.logGroupArn ?? g.arn?.replace(/:\*$/, '');
            if (!arn) continue;
            const tags = await tagsOf(arn)(async () =>
              toMap((await rc.logs.send(new LogsListTags({ resourceArn: arn }))).tags),
            );
            if (tags)
              add(arn, tags, g.creationTime === undefined ? undefined : iso(new Date(g.creationTime)));
          }
        }
      },
      region,
    );
    await listing(
      'events',
      async () => {
        const buses: string[] = [];
        let token: string | undefined;
        do {
          const out = await rc.events.send(new ListEventBusesCommand({ NextToken: token }));
          for (const b of out.EventBuses ?? []) if (b.Name) buses.push(b.Name);
          token = out.NextToken;
        } while (token);
        for (const bus of buses.length > 0 ? buses : ['default']) {
          let next: string | undefined;
          do {
            const out = await rc.events.send(new ListRulesCommand({ EventBusName: bus, NextToken: next }));
            for (const rule of out.Rules ?? []) {
              // A rule an AWS service manages goes with what made it, never on its own.
              const arn = rule.Arn;
              if (!arn || rule.ManagedBy) continue;
              const tags = await tagsOf(arn)(async () =>
                toMap((await rc.events.send(new EventsListTags({ ResourceARN: arn }))).Tags),
              );
              if (tags) add(arn, tags);
            }
            next = out.NextToken;
          } while (next);
        }
      },
      region,
    );
    await listing(
      'ecr',
      async () => {
        for await (const page of paginateDescribeRepositories({ client: rc.ecr }, {})) {
          for (const repo of page.repositories ?? []) {
            const arn = repo.repositoryArn;
            if (!arn) continue;
            const tags = await tagsOf(arn)(async () =>
              toMap((await rc.ecr.send(new EcrListTags({ resourceArn: arn }))).tags),
            );
            if (tags) add(arn, tags, iso(repo.createdAt));
          }
        }
      },
      region,
    );
    await listing(
      'cloudformation',
      async () => {
        for await (const page of paginateDescribeStacks({ client: rc.cloudformation }, {})) {
          for (const s of page.Stacks ?? []) {
            if (!s.StackId || s.StackStatus === 'DELETE_COMPLETE') continue;
            add(s.StackId, toMap(s.Tags), iso(s.CreationTime));
          }
        }
      },
      region,
    );
  }
  // Global: listed once. S3 after the tagging API, which names a bucket tagged but unlisted here.
  await listing('iam', async () => {
    for await (const page of paginateListRoles({ client: c.iam }, {})) {
      for (const role of page.Roles ?? []) {
        if (!role.Arn || !role.RoleName || role.Path?.startsWith('/aws-service-role/')) continue;
        const tags = await tagsOf(role.Arn)(async () =>
          toMap((await c.iam.send(new ListRoleTagsCommand({ RoleName: role.RoleName }))).Tags),
        );
        if (tags) add(role.Arn, tags, iso(role.CreateDate));
      }
    }
  });
  await listing('iam', async () => {
    const providers = await c.iam.send(new ListOpenIDConnectProvidersCommand({}));
    for (const p of providers.OpenIDConnectProviderList ?? []) {
      const arn = p.Arn;
      if (!arn) continue;
      const tags = await tagsOf(arn)(async () =>
        toMap(
          (await c.iam.send(new ListOpenIDConnectProviderTagsCommand({ OpenIDConnectProviderArn: arn })))
            .Tags,
        ),
      );
      if (!tags) continue;
      // Without its date (a read refused) it is aged by sv0:first-seen like a topic.
      const created = await c.iam
        .send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn }))
        .then(
          (o) => o.CreateDate,
          () => undefined,
        );
      add(arn, tags, iso(created));
    }
  });
  await listing('s3', async () => {
    for (const b of (await c.s3.send(new ListBucketsCommand({}))).Buckets ?? []) {
      if (!b.Name) continue;
      const arn = `arn:aws:s3:::${b.Name}`;
      const tags = await tagsOf(arn)(async () =>
        toMap((await c.s3.send(new GetBucketTaggingCommand({ Bucket: b.Name }))).TagSet),
      );
      if (tags) add(arn, tags, iso(b.CreationDate));
    }
  });
  return [...found.values()];
}

/**
 * A function's published versions, except those an alias points to (in use). By name: the
 * function's ARN works against AWS, but moto answers these two calls only by name.
 */
async function publishedVersions(
  lambda: LambdaClient,
  name: string,
): Promise<{ version: string; lastModified?: string }[]> {
  const aliased = new Set<string>();
  for await (const page of paginateListAliases({ client: lambda }, { FunctionName: name })) {
    for (const alias of page.Aliases ?? []) {
      if (alias.FunctionVersion) aliased.add(alias.FunctionVersion);
      for (const v of Object.keys(alias.RoutingConfig?.AdditionalVersionWeights ?? {})) aliased.add(v);
    }
  }
  const versions: { version: string; lastModified?: string }[] = [];
  for await (const page of paginateListVersionsByFunction({ client: lambda }, { FunctionName: name })) {
    for (const v of page.Versions ?? []) {
      const version = String(v.Version ?? '');
      if (/^[0-9]+$/.test(version) && !aliased.has(version))
        versions.push({ version, lastModified: v.LastModified });
    }
  }
  return versions;
}

async function deleteRole(iam: IAMClient, name: string): Promise<void> {
  for await (const page of paginateListAttachedRolePolicies({ client: iam }, { RoleName: name })) {
    for (const p of page.AttachedPolicies ?? [])
      await iam.send(new DetachRolePolicyCommand({ RoleName: name, PolicyArn: p.PolicyArn }));
  }
  for await (const page of paginateListRolePolicies({ client: iam }, { RoleName: name })) {
    for (const p of page.PolicyNames ?? [])
      await iam.send(new DeleteRolePolicyCommand({ RoleName: name, PolicyName: p }));
  }
  for await (const page of paginateListInstanceProfilesForRole({ client: iam }, { RoleName: name })) {
    for (const p of page.InstanceProfiles ?? []) {
      await iam.send(
        new RemoveRoleFromInstanceProfileCommand({
          RoleName: name,
          InstanceProfileName: p.InstanceProfileName,
        }),
      );
    }
  }
  await iam.send(new DeleteRoleCommand({ RoleName: name }));
}

/** An EventBridge rule (`rule/<name>` or `rule/<bus>/<name>`): its targets first, which AWS requires. */
async function deleteRule(events: EventBridgeClient, tail: string): Promise<void> {
  const parts = tail.replace(/^rule\//, '').split('/');
  const Rule = parts.at(-1)!;
  const EventBusName = parts.length > 1 ? parts[0] : undefined;
  for (;;) {
    const listed = await events.send(new ListTargetsByRuleCommand({ Rule, EventBusName }));
    const Ids = (listed.Targets ?? []).flatMap((t) => (t.Id ? [t.Id] : []));
    if (Ids.length === 0) break;
    const removed = await events.send(new RemoveTargetsCommand({ Rule, EventBusName, Ids }));
    const failed = removed.FailedEntries ?? [];
    if (failed.length > 0)
      throw new Error(
        `rule ${Rule}: could not remove target ${failed[0]!.TargetId}: ${failed[0]!.ErrorCode ?? ''} ${failed[0]!.ErrorMessage ?? ''}`.trim(),
      );
  }
  await events.send(new DeleteRuleCommand({ Name: Rule, EventBusName }));
}

async function emptyAndDeleteBucket(s3: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((o) => ({
      Key: o.Key!,
      VersionId: o.VersionId,
    }));
    if (objects.length === 0) break;
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }));
  }
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
}

/**
 * Delete one resource. Already gone is success (safe to retry). A type this module cannot delete
 * throws, so the caller reports it instead of claiming the account is clean.
 */
export async function deleteTagged(
  account: TagClients,
  r: Pick<TaggedResource, 'arn' | 'type'>,
): Promise<void> {
  const c = clientsFor(account, r.arn);
  const tail = r.arn.split(':').slice(5).join(':');
  try {
    switch (r.type) {
      case 'iam:role':
        return await deleteRole(c.iam, tail.split('/').pop()!);
      case 's3:bucket':
        return await emptyAndDeleteBucket(c.s3, tail);
      case 'lambda:function':
        await c.lambda.send(new DeleteFunctionCommand({ FunctionName: r.arn }));
        return;
      case 'lambda:version': {
        const at = r.arn.lastIndexOf(':');
        await c.lambda.send(
          new DeleteFunctionCommand({ FunctionName: r.arn.slice(0, at), Qualifier: r.arn.slice(at + 1) }),
        );
        return;
      }
      case 'events:rule':
        return await deleteRule(c.events, tail);
      case 'ecr:repository':
        // force: its images go with it (a repository that holds images cannot be deleted otherwise).
        await c.ecr.send(
          new DeleteRepositoryCommand({ repositoryName: tail.replace(/^repository\//, ''), force: true }),
        );
        return;
      case 'iam:oidc-provider':
        await c.iam.send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: r.arn }));
        return;
      case 'sns:topic':
        await c.sns.send(new DeleteTopicCommand({ TopicArn: r.arn }));
        return;
      case 'states:stateMachine':
        await c.sfn.send(new DeleteStateMachineCommand({ stateMachineArn: r.arn }));
        return;
      case 'dynamodb:table':
        await c.dynamodb.send(new DeleteTableCommand({ TableName: tail.replace(/^table\//, '') }));
        return;
      case 'secretsmanager:secret':
        // No recovery window: a demo's secret is disposable, and one pending deletion is not gone.
        await c.secretsmanager.send(
          new DeleteSecretCommand({ SecretId: r.arn, ForceDeleteWithoutRecovery: true }),
        );
        return;
      case 'cloudformation:stack':
        await c.cloudformation.send(new DeleteStackCommand({ StackName: r.arn }));
        return;
      case 'logs:log-group':
        await c.logs.send(
          new DeleteLogGroupCommand({ logGroupName: tail.replace(/^log-group:/, '').replace(/:\*$/, '') }),
        );
        return;
      default:
        throw new Error(`no deleter for resource type ${r.type}; delete it by hand`);
    }
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
}

/** Wait (heartbeating, up to an hour) until a stack whose delete was requested is gone. */
export async function waitUntilStackGone(c: TagClients, stackName: string): Promise<void> {
  await withHeartbeat((abortSignal) =>
    waitUntilStackDeleteComplete(
      { client: c.cloudformation, maxWaitTime: 3600, minDelay: 2, maxDelay: 15, abortSignal },
      { StackName: stackName },
    ),
  );
}
