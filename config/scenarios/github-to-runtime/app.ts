/**
 * github-to-runtime: from a GitHub repository to a running workload. GitHub Actions uploads through
 * an OIDC role into an artifact bucket; EventBridge starts a Step Functions pipeline when an
 * artifact lands, which deploys it to the runtime Lambda (runtime.ts, bundled with esbuild and
 * uploaded as an asset) and announces the deployment. The pipeline's settings for the runtime live
 * in a Secrets Manager secret, as a real deploy token would.
 */
import path from 'node:path';
import {
  App,
  ArnFormat,
  Aws,
  CfnCondition,
  CfnOutput,
  CfnParameter,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  aws_events as events,
  aws_events_targets as targets,
  aws_iam as iam,
  aws_lambda as lambda,
  aws_s3 as s3,
  aws_secretsmanager as secretsmanager,
  aws_sns as sns,
  aws_stepfunctions as sfn,
  aws_stepfunctions_tasks as tasks,
} from 'aws-cdk-lib';
import { bundledCode } from '../common/bundle';

const GITHUB_OIDC = 'token.actions.githubusercontent.com';

export default function (app: App): void {
  const stack = new Stack(app, 'GitHubToRuntime', {
    description:
      'sv0 demo github-to-runtime: GitHub Actions OIDC deploy role, artifact bucket, EventBridge-started Step Functions pipeline, runtime Lambda and its deploy secret',
  });
  const gitHubOrg = new CfnParameter(stack, 'GitHubOrg', {
    type: 'String',
    allowedPattern: '^[A-Za-z0-9-]+$',
  });
  const gitHubRepo = new CfnParameter(stack, 'GitHubRepo', {
    type: 'String',
    allowedPattern: '^[A-Za-z0-9._-]+$',
  });
  const createOidcProvider = new CfnParameter(stack, 'CreateOidcProvider', {
    type: 'String',
    default: 'true',
    allowedValues: ['true', 'false'],
    description: "An account has one OIDC provider per URL; 'false' where it already exists",
  });

  const provider = new iam.CfnOIDCProvider(stack, 'GitHubOidcProvider', {
    url: `https://${GITHUB_OIDC}`,
    clientIdList: ['sts.amazonaws.com'],
  });
  provider.cfnOptions.condition = new CfnCondition(stack, 'MakeOidcProvider', {
    expression: Fn.conditionEquals(createOidcProvider.valueAsString, 'true'),
  });

  const artifacts = new s3.Bucket(stack, 'ArtifactBucket', {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  // On the bucket itself: the L2 `eventBridgeEnabled` adds a custom resource (a Lambda of its own).
  (artifacts.node.defaultChild as s3.CfnBucket).notificationConfiguration = {
    eventBridgeConfiguration: { eventBridgeEnabled: true },
  };

  const deployRole = new iam.Role(stack, 'GitHubDeployRole', {
    description: 'Assumed by GitHub Actions of one repository (OIDC) to upload artifacts',
    assumedBy: new iam.WebIdentityPrincipal(
      `arn:${stack.partition}:iam::${stack.account}:oidc-provider/${GITHUB_OIDC}`,
      {
        StringEquals: { [`${GITHUB_OIDC}:aud`]: 'sts.amazonaws.com' },
        StringLike: {
          [`${GITHUB_OIDC}:sub`]: `repo:${gitHubOrg.valueAsString}/${gitHubRepo.valueAsString}:*`,
        },
      },
    ),
  });
  artifacts.grantPut(deployRole);

  const runtime = new lambda.Function(stack, 'RuntimeFunction', {
    description: 'The runtime the pipeline deploys to (demo workload)',
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: bundledCode(path.join(__dirname, 'runtime.ts')),
    memorySize: 128,
    timeout: Duration.seconds(10),
  });

  // Named after the stack, so one demo's secret never meets another's. The pipeline's grant names
  // it by that name, not by a reference: moto's CloudFormation (where the demos are tested) makes
  // no secret, and a reference to one leaves the policy without a resource.
  const deploySettingsName = `${Aws.STACK_NAME}-deploy-settings`;
  new secretsmanager.Secret(stack, 'DeploySettings', {
    secretName: deploySettingsName,
    description: 'What the pipeline needs to deploy (demo: a generated token)',
    generateSecretString: {
      secretStringTemplate: JSON.stringify({ functionName: runtime.functionName }),
      generateStringKey: 'token',
      excludePunctuation: true,
    },
    removalPolicy: RemovalPolicy.DESTROY,
  });

  const deployTopic = new sns.Topic(stack, 'DeployTopic', { displayName: 'sv0 demo deployments' });

  const deploy = new tasks.CallAwsService(stack, 'Deploy', {
    service: 'lambda',
    action: 'updateFunctionCode',
    parameters: {
      FunctionName: runtime.functionName,
      S3Bucket: sfn.JsonPath.stringAt('$.detail.bucket.name'),
      S3Key: sfn.JsonPath.stringAt('$.detail.object.key'),
    },
    iamResources: [runtime.functionArn],
  });
  const announce = new tasks.SnsPublish(stack, 'Announce', {
    topic: deployTopic,
    message: sfn.TaskInput.fromJsonPathAt("States.Format('deployed {}', $.FunctionName)"),
  });
  const pipeline = new sfn.StateMachine(stack, 'DeployPipeline', {
    comment: 'Deploy an uploaded artifact to the runtime, then announce it',
    definitionBody: sfn.DefinitionBody.fromChainable(deploy.next(announce)),
  });
  artifacts.grantRead(pipeline);
  pipeline.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      // Secrets Manager appends six random characters to the name in the ARN.
      resources: [
        stack.formatArn({
          service: 'secretsmanager',
          resource: 'secret',
          resourceName: `${deploySettingsName}-??????`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
    }),
  );

  new events.Rule(stack, 'ArtifactUploaded', {
    description: 'Start the deploy pipeline when an artifact lands in the bucket',
    eventPattern: {
      source: ['aws.s3'],
      detailType: ['Object Created'],
      detail: { bucket: { name: [artifacts.bucketName] } },
    },
    targets: [new targets.SfnStateMachine(pipeline)],
  });

  new CfnOutput(stack, 'GitHubDeployRoleArn', {
    description: "Put this in the workflow's aws-actions/configure-aws-credentials role-to-assume",
    value: deployRole.roleArn,
  });
  new CfnOutput(stack, 'ArtifactBucketName', { value: artifacts.bucketName });
  new CfnOutput(stack, 'RuntimeFunctionName', { value: runtime.functionName });
  new CfnOutput(stack, 'DeployPipelineArn', { value: pipeline.stateMachineArn });
  new CfnOutput(stack, 'DeployTopicArn', { value: deployTopic.topicArn });
  new CfnOutput(stack, 'DeploySettingsName', { value: deploySettingsName });
}
