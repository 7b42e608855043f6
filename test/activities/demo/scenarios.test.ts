import {
  CreateStackCommand,
  DeleteStackCommand,
  paginateListStackResources,
} from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  GetRoleCommand,
  ListOpenIDConnectProvidersCommand,
  ListRolePoliciesCommand,
  ListRolesCommand,
} from '@aws-sdk/client-iam';
import { GetFunctionCommand } from '@aws-sdk/client-lambda';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { DescribeStateMachineCommand } from '@aws-sdk/client-sfn';
import { GetTopicAttributesCommand } from '@aws-sdk/client-sns';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { tagClients, type TagClients } from '../../../activities/demo/tagged-resources';
import { ensureAssetBucket, uploadAssets } from '../../../activities/demo/assets';
import { ASSET_BUCKET_PARAMETER } from '../../../lib/config/scenarios';
import { loadScenarios, scenarioTemplate } from '../../../lib/runtime/config';
import { motoConfig, resetMoto } from '../../harness/aws';
import { uniqueId } from '../../harness/temporal';
import { CONFIG_DIR } from '../../harness/demo-fixture';

/**
 * What moto really does with each scenario template, so no demo test passes because moto silently
 * skipped a resource. Per resource type: `created` (the service's own API finds the physical
 * resource), `listed` (CloudFormation lists it, but this project has no SDK client to check the
 * service: Logs, EventBridge), `skipped` (moto does not implement the type and creates nothing).
 */
type Outcome = 'created' | 'listed' | 'skipped';

/** Check a physical resource through its own service. Undefined: no client here to check it. */
async function existsInService(
  c: TagClients,
  type: string,
  physicalId: string,
  properties: Record<string, unknown> = {},
): Promise<boolean | undefined> {
  const ok = (p: Promise<unknown>) =>
    p.then(
      () => true,
      () => false,
    );
  switch (type) {
    case 'AWS::IAM::Role':
      return ok(c.iam.send(new GetRoleCommand({ RoleName: physicalId })));
    case 'AWS::S3::Bucket':
      return ok(c.s3.send(new HeadBucketCommand({ Bucket: physicalId })));
    case 'AWS::Lambda::Function':
      return ok(c.lambda.send(new GetFunctionCommand({ FunctionName: physicalId })));
    case 'AWS::SNS::Topic':
      return ok(c.sns.send(new GetTopicAttributesCommand({ TopicArn: physicalId })));
    case 'AWS::StepFunctions::StateMachine':
      return ok(c.sfn.send(new DescribeStateMachineCommand({ stateMachineArn: physicalId })));
    case 'AWS::DynamoDB::Table':
      return ok(c.dynamodb.send(new DescribeTableCommand({ TableName: physicalId })));
    case 'AWS::SecretsManager::Secret':
      return ok(c.secretsmanager.send(new DescribeSecretCommand({ SecretId: physicalId })));
    case 'AWS::IAM::Policy': {
      // An inline policy (its physical id is no name IAM knows): created when a role carries it.
      for (const role of (await c.iam.send(new ListRolesCommand({}))).Roles ?? []) {
        const names = await c.iam.send(new ListRolePoliciesCommand({ RoleName: role.RoleName }));
        if (names.PolicyNames?.includes(String(properties.PolicyName))) return true;
      }
      return false;
    }
    case 'AWS::IAM::OIDCProvider':
      return (
        ((await c.iam.send(new ListOpenIDConnectProvidersCommand({}))).OpenIDConnectProviderList ?? [])
          .length > 0
      );
    default:
      return undefined;
  }
}

interface Declared {
  Parameters?: Record<string, { Default?: string }>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, { Condition?: string; Properties?: Record<string, unknown> }>;
}

/**
 * Whether a resource is part of the stack with these parameters: a false condition leaves it out
 * in AWS as in moto, so it has no outcome. The scenarios' conditions compare one parameter.
 */
function inStack(t: Declared, logicalId: string, parameters: Record<string, string>): boolean {
  const name = t.Resources[logicalId]?.Condition;
  if (name === undefined) return true;
  const cond = t.Conditions?.[name] as { 'Fn::Equals'?: [{ Ref?: string }, string] } | undefined;
  const [ref, value] = cond?.['Fn::Equals'] ?? [];
  if (!ref?.Ref || value === undefined)
    throw new Error(`condition ${name}: only Fn::Equals of a Ref is read here`);
  return (parameters[ref.Ref] ?? t.Parameters?.[ref.Ref]?.Default) === value;
}

/** The expected outcome per template and resource type: a change in moto or a template shows up here. */
const EXPECTED: Record<string, Record<string, Outcome>> = {
  'bedrock-support-agent': {
    'AWS::Bedrock::Agent': 'skipped',
    'AWS::DynamoDB::Table': 'created',
    'AWS::IAM::Policy': 'created',
    'AWS::IAM::Role': 'created',
    'AWS::Lambda::Function': 'created',
    'AWS::Lambda::Permission': 'listed',
    'AWS::Logs::LogGroup': 'listed',
    'AWS::S3::Bucket': 'created',
    'AWS::SNS::Topic': 'created',
  },
  'cross-account-trust': {
    'AWS::DynamoDB::Table': 'created',
    'AWS::IAM::Policy': 'created',
    'AWS::IAM::Role': 'created',
    'AWS::Lambda::Function': 'created',
    'AWS::StepFunctions::StateMachine': 'created',
  },
  'github-to-runtime': {
    'AWS::Events::Rule': 'listed',
    'AWS::IAM::OIDCProvider': 'skipped',
    'AWS::IAM::Policy': 'created',
    'AWS::IAM::Role': 'created',
    'AWS::Lambda::Function': 'created',
    'AWS::S3::Bucket': 'created',
    'AWS::SecretsManager::Secret': 'skipped',
    'AWS::SNS::Topic': 'created',
    'AWS::StepFunctions::StateMachine': 'created',
  },
};

describe('scenario templates on moto', () => {
  beforeAll(async () => {
    await resetMoto();
  });

  for (const [name, expected] of Object.entries(EXPECTED)) {
    it(`${name}: moto creates, lists or skips each resource type as recorded`, async () => {
      const scenario = loadScenarios(CONFIG_DIR).get(name)!;
      const template = await scenarioTemplate(scenario);
      const c = tagClients(motoConfig());
      const stackName = uniqueId(`t-${name}`);
      const parameters = { ...scenario.parameters };
      if (template.assets.length > 0) {
        // As the worker does: the app's assets in a bucket of the demo's, named by a parameter.
        const bucket = stackName.toLowerCase();
        await ensureAssetBucket(c.s3, bucket, {});
        await uploadAssets(c.s3, bucket, template.assets);
        parameters[ASSET_BUCKET_PARAMETER] = bucket;
      }
      template.dispose();
      await c.cloudformation.send(
        new CreateStackCommand({
          StackName: stackName,
          TemplateBody: template.templateBody,
          Parameters: Object.entries(parameters).map(([ParameterKey, ParameterValue]) => ({
            ParameterKey,
            ParameterValue,
          })),
          Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'],
        }),
      );
      const declared = parseYaml(template.templateBody) as Declared;
      const listed = new Map<string, string>();
      for await (const page of paginateListStackResources(
        { client: c.cloudformation },
        { StackName: stackName },
      )) {
        for (const r of page.StackResourceSummaries ?? [])
          if (r.LogicalResourceId) listed.set(r.LogicalResourceId, r.PhysicalResourceId ?? '');
      }
      const outcomes: Record<string, Outcome[]> = {};
      for (const [logicalId, type] of Object.entries(template.resourceTypes)) {
        if (!inStack(declared, logicalId, parameters)) continue;
        const physical = listed.get(logicalId);
        const properties = declared.Resources[logicalId]?.Properties ?? {};
        const inService = await existsInService(c, type, physical ?? '', properties);
        let outcome: Outcome;
        if (physical === undefined) outcome = inService ? 'created' : 'skipped';
        else outcome = inService === undefined ? 'listed' : inService ? 'created' : 'skipped';
        (outcomes[type] ??= []).push(outcome);
      }
      // One outcome per type: every resource of a type behaves the same.
      const perType = Object.fromEntries(
        Object.entries(outcomes).map(([type, os]) => {
          expect(new Set(os).size, `${type} resources differ: ${os.join(', ')}`).toBe(1);
          return [type, os[0]];
        }),
      );
      expect(perType).toEqual(expected);
      await c.cloudformation.send(new DeleteStackCommand({ StackName: stackName }));
    }, 120_000);
  }

  it('records every scenario', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual([...loadScenarios(CONFIG_DIR).keys()].sort());
  });
});
