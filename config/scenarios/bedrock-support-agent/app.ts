/**
 * bedrock-support-agent: a support agent on Bedrock. A Bedrock agent on the model the Sandbox OU's
 * RestrictBedrockModels SCP allows (Claude 3 Haiku), whose `escalation` action group is the support
 * Lambda (the folder support-agent/, a plain asset zipped as it is); the same Lambda answers
 * a ticket with that model when invoked directly. A tickets table, an escalation topic and a
 * knowledge bucket; with `CreateKnowledgeBase` 'true', a knowledge base over that bucket in S3
 * Vectors, attached to the agent. It is off by default: a knowledge base embeds with an embedding
 * model, which that SCP denies, so it could be created but never synced or queried.
 */
import path from 'node:path';
import {
  App,
  Aws,
  CfnCondition,
  CfnOutput,
  CfnParameter,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  aws_bedrock as bedrock,
  aws_dynamodb as dynamodb,
  aws_iam as iam,
  aws_lambda as lambda,
  aws_logs as logs,
  aws_s3 as s3,
  aws_s3vectors as s3vectors,
  aws_sns as sns,
  type CfnResource,
} from 'aws-cdk-lib';

/** The agent's and knowledge base's names: unique per stack (its id's UUID), valid for Bedrock. */
function bedrockName(prefix: string): string {
  return `${prefix}-${Fn.select(2, Fn.split('/', Aws.STACK_ID))}`;
}

export default function (app: App): void {
  const stack = new Stack(app, 'BedrockSupportAgent', {
    description:
      'sv0 demo bedrock-support-agent: a Bedrock agent and a support Lambda on the model the Sandbox OU allows, with tickets table, escalation topic and knowledge bucket',
  });
  const modelId = new CfnParameter(stack, 'ModelId', {
    type: 'String',
    default: 'anthropic.claude-3-haiku-20240307-v1:0',
    // The models the RestrictBedrockModels SCP leaves open in the Sandbox OU; the agent needs Claude.
    allowedValues: ['anthropic.claude-3-haiku-20240307-v1:0'],
  });
  const createKnowledgeBase = new CfnParameter(stack, 'CreateKnowledgeBase', {
    type: 'String',
    default: 'false',
    allowedValues: ['true', 'false'],
    description: "'true' only where the SCP allows the embedding model (EmbeddingModelId)",
  });
  const embeddingModelId = new CfnParameter(stack, 'EmbeddingModelId', {
    type: 'String',
    default: 'amazon.titan-embed-text-v2:0',
    description: 'Embedding model of the knowledge base (1024 dimensions)',
  });
  const modelArn = stack.formatArn({
    service: 'bedrock',
    account: '',
    resource: 'foundation-model',
    resourceName: modelId.valueAsString,
  });

  const knowledge = new s3.Bucket(stack, 'KnowledgeBucket', {
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const tickets = new dynamodb.Table(stack, 'TicketsTable', {
    partitionKey: { name: 'ticketId', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const escalations = new sns.Topic(stack, 'EscalationTopic', {
    displayName: 'sv0 demo support escalations',
  });

  const supportAgent = new lambda.Function(stack, 'SupportAgentFunction', {
    description: 'Answers a support ticket with Bedrock; escalates what it cannot answer (demo workload)',
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromAsset(path.join(__dirname, 'support-agent')),
    memorySize: 256,
    timeout: Duration.seconds(30),
    environment: {
      MODEL_ID: modelId.valueAsString,
      TABLE_NAME: tickets.tableName,
      TOPIC_ARN: escalations.topicArn,
    },
    // Its own log group, deleted with the stack: the one Lambda makes by itself would outlive the demo.
    logGroup: new logs.LogGroup(stack, 'SupportAgentLogs', {
      retention: logs.RetentionDays.ONE_DAY,
      removalPolicy: RemovalPolicy.DESTROY,
    }),
  });
  supportAgent.addToRolePolicy(
    new iam.PolicyStatement({ actions: ['bedrock:InvokeModel'], resources: [modelArn] }),
  );
  knowledge.grantRead(supportAgent);
  tickets.grantWriteData(supportAgent);
  escalations.grantPublish(supportAgent);

  // Knowledge base (optional): vectors in S3 Vectors, the cheapest store Bedrock supports.
  const withKnowledgeBase = new CfnCondition(stack, 'MakeKnowledgeBase', {
    expression: Fn.conditionEquals(createKnowledgeBase.valueAsString, 'true'),
  });
  const onlyWithKnowledgeBase = (...resources: CfnResource[]) => {
    for (const r of resources) r.cfnOptions.condition = withKnowledgeBase;
  };
  const vectors = new s3vectors.CfnVectorBucket(stack, 'KnowledgeVectors', {});
  const index = new s3vectors.CfnIndex(stack, 'KnowledgeIndex', {
    vectorBucketArn: vectors.attrVectorBucketArn,
    dataType: 'float32',
    dimension: 1024,
    distanceMetric: 'cosine',
    // Bedrock keeps the chunk text and its metadata with each vector; as filterable metadata they
    // would exceed the index's limit.
    metadataConfiguration: { nonFilterableMetadataKeys: ['AMAZON_BEDROCK_TEXT', 'AMAZON_BEDROCK_METADATA'] },
  });
  const kbRole = new iam.Role(stack, 'KnowledgeBaseRole', {
    description: 'Bedrock reads the knowledge bucket, embeds it and keeps the vectors (demo)',
    assumedBy: new iam.ServicePrincipal('bedrock.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
    }),
    inlinePolicies: {
      knowledge: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            actions: ['bedrock:InvokeModel'],
            resources: [
              stack.formatArn({
                service: 'bedrock',
                account: '',
                resource: 'foundation-model',
                resourceName: embeddingModelId.valueAsString,
              }),
            ],
          }),
          new iam.PolicyStatement({
            actions: ['s3:GetObject', 's3:ListBucket'],
            resources: [knowledge.bucketArn, knowledge.arnForObjects('*')],
          }),
          new iam.PolicyStatement({
            actions: [
              's3vectors:GetIndex',
              's3vectors:PutVectors',
              's3vectors:GetVectors',
              's3vectors:DeleteVectors',
              's3vectors:QueryVectors',
            ],
            resources: [index.attrIndexArn],
          }),
        ],
      }),
    },
  });
  const knowledgeBase = new bedrock.CfnKnowledgeBase(stack, 'KnowledgeBase', {
    name: bedrockName('sv0-support-kb'),
    description: 'Support articles from the knowledge bucket (demo)',
    roleArn: kbRole.roleArn,
    knowledgeBaseConfiguration: {
      type: 'VECTOR',
      vectorKnowledgeBaseConfiguration: {
        embeddingModelArn: stack.formatArn({
          service: 'bedrock',
          account: '',
          resource: 'foundation-model',
          resourceName: embeddingModelId.valueAsString,
        }),
      },
    },
    storageConfiguration: {
      type: 'S3_VECTORS',
      s3VectorsConfiguration: { vectorBucketArn: vectors.attrVectorBucketArn, indexArn: index.attrIndexArn },
    },
  });
  const dataSource = new bedrock.CfnDataSource(stack, 'KnowledgeSource', {
    knowledgeBaseId: knowledgeBase.attrKnowledgeBaseId,
    name: 'knowledge-bucket',
    dataDeletionPolicy: 'DELETE',
    dataSourceConfiguration: { type: 'S3', s3Configuration: { bucketArn: knowledge.bucketArn } },
  });
  onlyWithKnowledgeBase(vectors, index, kbRole.node.defaultChild as iam.CfnRole, knowledgeBase, dataSource);

  const agentRole = new iam.Role(stack, 'AgentRole', {
    description: 'The Bedrock agent: invokes the allowed model and retrieves from its knowledge base (demo)',
    assumedBy: new iam.ServicePrincipal('bedrock.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
    }),
    inlinePolicies: {
      agent: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({ actions: ['bedrock:InvokeModel'], resources: [modelArn] }),
          // By pattern, not by reference: the knowledge base exists only with CreateKnowledgeBase.
          new iam.PolicyStatement({
            actions: ['bedrock:Retrieve'],
            resources: [
              stack.formatArn({ service: 'bedrock', resource: 'knowledge-base', resourceName: '*' }),
            ],
          }),
        ],
      }),
    },
  });
  const agent = new bedrock.CfnAgent(stack, 'SupportAgent', {
    agentName: bedrockName('sv0-support-agent'),
    description: 'Answers AWS security support questions and escalates what it cannot (demo)',
    agentResourceRoleArn: agentRole.roleArn,
    foundationModel: modelId.valueAsString,
    instruction:
      'You are the support agent of a cloud security company. Answer questions about AWS account security briefly. When you cannot answer, call escalate with the question.',
    idleSessionTtlInSeconds: 600,
    autoPrepare: true,
    // Deleted with the stack even while a session is open.
    skipResourceInUseCheckOnDelete: true,
    actionGroups: [
      {
        actionGroupName: 'escalation',
        description: 'Hand a question to a human',
        actionGroupExecutor: { lambda: supportAgent.functionArn },
        functionSchema: {
          functions: [
            {
              name: 'escalate',
              description: 'Record the question as an escalated ticket and notify the support team',
              parameters: {
                question: { type: 'string', required: true, description: "The customer's question" },
              },
            },
          ],
        },
      },
    ],
    knowledgeBases: Fn.conditionIf(
      withKnowledgeBase.logicalId,
      [
        {
          KnowledgeBaseId: knowledgeBase.attrKnowledgeBaseId,
          Description: 'Support articles: search them before answering',
          KnowledgeBaseState: 'ENABLED',
        },
      ],
      Aws.NO_VALUE,
    ),
  });
  // The agent calls the Lambda; by pattern, not by reference: moto's CloudFormation makes no agent.
  supportAgent.addPermission('InvokedByAgent', {
    principal: new iam.ServicePrincipal('bedrock.amazonaws.com'),
    sourceAccount: Aws.ACCOUNT_ID,
    sourceArn: stack.formatArn({ service: 'bedrock', resource: 'agent', resourceName: '*' }),
  });

  new CfnOutput(stack, 'SupportAgentFunctionName', { value: supportAgent.functionName });
  new CfnOutput(stack, 'KnowledgeBucketName', { value: knowledge.bucketName });
  new CfnOutput(stack, 'TicketsTableName', { value: tickets.tableName });
  new CfnOutput(stack, 'EscalationTopicArn', { value: escalations.topicArn });
  // Ref is the agent's id; moto's CloudFormation, which makes no agent, cannot resolve a GetAtt of it.
  new CfnOutput(stack, 'SupportAgentId', { value: agent.ref });
}
