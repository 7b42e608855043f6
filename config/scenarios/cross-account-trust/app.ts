/**
 * cross-account-trust: a customer account onboarded to SecurityV0. The read-only role the platform
 * assumes (literally SecurityV0-ReadOnly, with an external id and SecurityAudit), and a small claims
 * workload for the platform to discover: a Lambda (claims-processor.ts, bundled with esbuild and
 * uploaded as an asset), the Step Functions state machine that drives it and the DynamoDB table it
 * writes.
 */
import path from 'node:path';
import {
  App,
  CfnOutput,
  CfnParameter,
  Duration,
  RemovalPolicy,
  Stack,
  aws_dynamodb as dynamodb,
  aws_iam as iam,
  aws_lambda as lambda,
  aws_stepfunctions as sfn,
  aws_stepfunctions_tasks as tasks,
} from 'aws-cdk-lib';
import { bundledCode } from '../common/bundle';

export default function (app: App): void {
  const stack = new Stack(app, 'CrossAccountTrust', {
    description:
      'sv0 demo cross-account-trust: the SecurityV0 read-only role (SecurityAudit, external id) and a claims workload to discover',
  });
  const platformAccountId = new CfnParameter(stack, 'PlatformAccountId', {
    type: 'String',
    allowedPattern: '^[0-9]{12}$',
    description: 'Account the SecurityV0 platform assumes the role from',
  });
  const externalId = new CfnParameter(stack, 'ExternalId', {
    type: 'String',
    minLength: 2,
    maxLength: 1224,
    description: 'External id the platform presents (confused-deputy protection)',
  });

  // The name is fixed: the platform assumes exactly this role, so one such demo per account.
  const readOnly = new iam.Role(stack, 'SecurityV0ReadRole', {
    roleName: 'SecurityV0-ReadOnly',
    description: 'SecurityV0 read-only access for the demo customer (cross-account, external id)',
    assumedBy: new iam.AccountPrincipal(platformAccountId.valueAsString),
    externalIds: [externalId.valueAsString],
    managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('SecurityAudit')],
  });

  const table = new dynamodb.Table(stack, 'ClaimsTable', {
    partitionKey: { name: 'claimId', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    removalPolicy: RemovalPolicy.DESTROY,
  });

  const processor = new lambda.Function(stack, 'ClaimsProcessor', {
    description: 'Scores an insurance claim and records it (demo workload)',
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: bundledCode(path.join(__dirname, 'claims-processor.ts')),
    memorySize: 128,
    timeout: Duration.seconds(10),
    environment: { TABLE_NAME: table.tableName },
  });
  table.grantWriteData(processor);

  const decide = new sfn.Choice(stack, 'Decide')
    .when(sfn.Condition.stringEquals('$.decision', 'review'), new sfn.Pass(stack, 'ManualReview'))
    .otherwise(new sfn.Succeed(stack, 'Approved'));
  const workflow = new sfn.StateMachine(stack, 'ClaimsWorkflow', {
    comment: 'Process a claim, then branch on the decision',
    definitionBody: sfn.DefinitionBody.fromChainable(
      new tasks.LambdaInvoke(stack, 'Process', { lambdaFunction: processor, payloadResponseOnly: true })
        .addRetry({ errors: ['States.TaskFailed'], maxAttempts: 2 })
        .next(decide),
    ),
  });

  new CfnOutput(stack, 'ReadOnlyRoleArn', {
    description: 'Role the SecurityV0 platform assumes (with the external id)',
    value: readOnly.roleArn,
  });
  new CfnOutput(stack, 'ClaimsFunctionName', { value: processor.functionName });
  new CfnOutput(stack, 'ClaimsStateMachineArn', { value: workflow.stateMachineArn });
  new CfnOutput(stack, 'ClaimsTableName', { value: table.tableName });
}
