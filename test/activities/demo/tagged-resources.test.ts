import { CreateRepositoryCommand, DescribeRepositoriesCommand, PutImageCommand } from '@aws-sdk/client-ecr';
import {
  CreateEventBusCommand,
  ListRulesCommand,
  ListTagsForResourceCommand as EventsListTags,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateOpenIDConnectProviderCommand,
  CreateRoleCommand,
  ListOpenIDConnectProvidersCommand,
} from '@aws-sdk/client-iam';
import {
  CreateAliasCommand,
  CreateFunctionCommand,
  ListVersionsByFunctionCommand,
  PublishVersionCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  deleteTagged,
  findTagged,
  tagClients,
  type TagClients,
  type TaggedResource,
} from '../../../activities/demo/tagged-resources';
import type { SweepTargetInput } from '../../../lib/contracts/demo-inputs';
import { Tags } from '../../../lib/names';
import { motoConfig } from '../../harness/aws';
import { CONFIG_DIR, demoSweepActivities, setUpDemoOrg, type DemoOrg } from '../../harness/demo-fixture';
import { uniqueId } from '../../harness/temporal';

/**
 * The usual leaks of a demo beyond what its stack lists, each listed by its own API and deleted,
 * in moto: EventBridge rules with their targets, IAM OIDC providers, old published Lambda versions
 * and ECR repositories with their images.
 */
const HOUR = 3_600_000;
const REGIONS = ['us-east-1', 'us-west-2'];
const tagList = (t: Record<string, string>) => Object.entries(t).map(([Key, Value]) => ({ Key, Value }));
/** An empty zip archive: moto stores a function's code without running it. */
const EMPTY_ZIP = Uint8Array.from([0x50, 0x4b, 0x05, 0x06, ...new Array<number>(18).fill(0)]);
/** An event pattern (a schedule is allowed only on the default bus). */
const PATTERN = JSON.stringify({ source: ['sv0.test'] });
const MANIFEST = JSON.stringify({
  schemaVersion: 2,
  mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
  config: {
    mediaType: 'application/vnd.docker.container.image.v1+json',
    size: 7023,
    digest: 'sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7',
  },
  layers: [],
});

describe('the usual leaks, listed and deleted (moto)', () => {
  let org: DemoOrg;
  let c: TagClients;
  const leak = { [Tags.ephemeral]: 'true', [Tags.demo]: 'leaky' };
  const found = (tagged: TaggedResource[], arn: string) => tagged.find((r) => r.arn === arn);
  const search = () => findTagged(c, Tags.demo, (t) => t[Tags.demo] === 'leaky', [], REGIONS);

  beforeAll(async () => {
    org = await setUpDemoOrg();
    const config = motoConfig(org.demoAccountId);
    const inRegion = (region: string): TagClients => ({ ...tagClients({ ...config, region }), inRegion });
    c = { ...tagClients(config), inRegion };
  });

  it('EventBridge rules, on the default bus and on a bus of their own in another region: found without a date, targets removed, rule deleted', async () => {
    const west = c.inRegion!('us-west-2');
    const bus = uniqueId('demo-bus');
    await west.events.send(new CreateEventBusCommand({ Name: bus }));
    const rule = async (Name: string, EventBusName?: string) => {
      const arn = (
        await west.events.send(
          new PutRuleCommand({ Name, EventBusName, EventPattern: PATTERN, Tags: tagList(leak) }),
        )
      ).RuleArn!;
      await west.events.send(
        new PutTargetsCommand({
          Rule: Name,
          EventBusName,
          Targets: [{ Id: 't1', Arn: `arn:aws:sns:us-west-2:${org.demoAccountId}:nowhere` }],
        }),
      );
      return arn;
    };
    const onDefault = await rule(uniqueId('rule'));
    const onBus = await rule(uniqueId('rule'), bus);
    const tagged = await search();
    for (const arn of [onDefault, onBus]) {
      expect(found(tagged, arn)).toMatchObject({ type: 'events:rule', tags: leak });
      expect(found(tagged, arn)?.createdAt).toBeUndefined();
      await deleteTagged(c, { arn, type: 'events:rule' });
      // Deleting again is success (already gone).
      await deleteTagged(c, { arn, type: 'events:rule' });
    }
    expect((await west.events.send(new ListRulesCommand({}))).Rules ?? []).toEqual([]);
    expect((await west.events.send(new ListRulesCommand({ EventBusName: bus }))).Rules ?? []).toEqual([]);
  });

  it('IAM OIDC providers (global): found with their creation date and deleted', async () => {
    const arn = (
      await c.iam.send(
        new CreateOpenIDConnectProviderCommand({
          Url: `https://${uniqueId('issuer')}.example.com`,
          ClientIDList: ['sts.amazonaws.com'],
          ThumbprintList: ['a'.repeat(40)],
          Tags: tagList(leak),
        }),
      )
    ).OpenIDConnectProviderArn!;
    const r = found(await search(), arn);
    expect(r).toMatchObject({ type: 'iam:oidc-provider', tags: leak });
    expect(Date.now() - Date.parse(r!.createdAt!)).toBeLessThan(10 * 60_000);
    await deleteTagged(c, r!);
    const left = (await c.iam.send(new ListOpenIDConnectProvidersCommand({}))).OpenIDConnectProviderList;
    expect((left ?? []).map((p) => p.Arn)).not.toContain(arn);
  });

  it("old published Lambda versions: each listed with its function's tags and its own date, an alias's version left out; one deleted leaves the function and the rest", async () => {
    const role = (
      await c.iam.send(
        new CreateRoleCommand({
          RoleName: uniqueId('fn-role'),
          AssumeRolePolicyDocument: '{"Version":"2012-10-17","Statement":[]}',
        }),
      )
    ).Role!.Arn!;
    const name = uniqueId('fn');
    const fn = (
      await c.lambda.send(
        new CreateFunctionCommand({
          FunctionName: name,
          Runtime: 'nodejs22.x',
          Handler: 'index.handler',
          Role: role,
          Code: { ZipFile: EMPTY_ZIP },
          Tags: leak,
        }),
      )
    ).FunctionArn!;
    const publish = async (description: string) => {
      await c.lambda.send(
        new UpdateFunctionConfigurationCommand({ FunctionName: name, Description: description }),
      );
      return (await c.lambda.send(new PublishVersionCommand({ FunctionName: name }))).Version!;
    };
    const v1 = await publish('one');
    const v2 = await publish('two');
    await c.lambda.send(new CreateAliasCommand({ FunctionName: name, Name: 'live', FunctionVersion: v2 }));

    const tagged = await search();
    expect(found(tagged, fn)?.type).toBe('lambda:function');
    const version = found(tagged, `${fn}:${v1}`);
    expect(version).toMatchObject({ type: 'lambda:version', tags: leak });
    expect(version?.createdAt).toBeDefined();
    expect(found(tagged, `${fn}:${v2}`)).toBeUndefined();

    await deleteTagged(c, version!);
    const versions = (await c.lambda.send(new ListVersionsByFunctionCommand({ FunctionName: name })))
      .Versions;
    expect((versions ?? []).map((v) => v.Version)).toEqual(['$LATEST', v2]);
  });

  it('ECR repositories: found with their creation date and deleted with their images', async () => {
    const name = uniqueId('demo-images');
    const arn = (await c.ecr.send(new CreateRepositoryCommand({ repositoryName: name, tags: tagList(leak) })))
      .repository!.repositoryArn!;
    await c.ecr.send(new PutImageCommand({ repositoryName: name, imageManifest: MANIFEST, imageTag: 'v1' }));
    const r = found(await search(), arn);
    expect(r).toMatchObject({ type: 'ecr:repository', tags: leak });
    expect(r?.createdAt).toBeDefined();
    await deleteTagged(c, r!);
    await expect(c.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }))).rejects.toThrow(
      /RepositoryNotFound|does not exist/,
    );
  });

  it('the sweep tags a rule sv0:first-seen at first sight (AWS gives rules no date) and ages it from there', async () => {
    const west = c.inRegion!('us-west-2');
    const name = uniqueId('rule');
    const arn = (
      await west.events.send(
        new PutRuleCommand({
          Name: name,
          EventPattern: PATTERN,
          Tags: tagList({ [Tags.ephemeral]: 'true' }),
        }),
      )
    ).RuleArn!;
    const input: SweepTargetInput = {
      target: org.target,
      org: org.org,
      managementAccountId: org.managementAccountId,
      runningDemoIds: [],
      maxAgeMs: 12 * HOUR,
    };
    const now = demoSweepActivities({ configDir: CONFIG_DIR });
    const dryRun = await now.planAccountSweep(input);
    expect(dryRun.kept).toContainEqual({ arn, type: 'events:rule', reason: 'age-unknown' });
    const first = await now.planAccountSweep({ ...input, markFirstSeen: true });
    expect(first.kept).toContainEqual({ arn, type: 'events:rule', reason: 'young' });
    const seen = (await west.events.send(new EventsListTags({ ResourceARN: arn }))).Tags ?? [];
    expect(seen.map((t) => t.Key)).toContain(Tags.firstSeen);
    // 13 hours on, by the worker's clock: old, swept.
    const later = demoSweepActivities({ configDir: CONFIG_DIR, clock: () => Date.now() + 13 * HOUR });
    const plan = await later.planAccountSweep(input);
    expect(plan.resources.map((i) => i.arn)).toContain(arn);
    const out = await later.applyAccountSweep({ ...input, step: 'resources', approved: [arn] });
    expect(out.failed).toEqual([]);
    expect(out.deleted.map((d) => d.arn)).toContain(arn);
    expect((await west.events.send(new ListRulesCommand({ NamePrefix: name }))).Rules ?? []).toEqual([]);
  });
});
