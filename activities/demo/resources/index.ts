/**
 * Every AWS service a search by tag reads and deletes in, assembled: the clients one account needs,
 * the services listed in each region and those listed once (global), in the order a search reads
 * them, and the deleter of each resource type. One module per service beside this one.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECRClient } from '@aws-sdk/client-ecr';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IAMClient } from '@aws-sdk/client-iam';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import type { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import type { AwsClientConfig } from '../../../lib/runtime/aws';
import { deleteStack, listStacks } from './cloudformation';
import { deleteTable, listTables } from './dynamodb';
import { deleteRepository, listRepositories } from './ecr';
import { deleteRule, listRules } from './events';
import { deleteOidcProvider, deleteRole, listOidcProviders, listRoles } from './iam';
import { deleteFunction, deleteVersion, listFunctions } from './lambda';
import type { Listing } from './listing';
import { deleteLogGroup, listLogGroups } from './logs';
import { deleteBucket, listBuckets, s3Client } from './s3';
import { deleteSecret, listSecrets } from './secrets';
import { deleteStateMachine, listStateMachines } from './sfn';
import { deleteTopic, listTopics } from './sns';
import { listByTagKey } from './tagging';

export { s3Client } from './s3';
export {
  Listing,
  resourceType,
  type TaggedResource,
  type UnreadableHandler,
  type UnreadableResource,
} from './listing';
export { waitForStackDelete } from './cloudformation';

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

/** One service's listing: `service` names it where it cannot be read (`<service>:*`). */
export interface ServiceLister {
  service: string;
  list: (c: TagClients, found: Listing, tagKey: string) => Promise<void>;
}

/**
 * Listed in each region, in this order: the tagging API first (what carries the tag key, whatever
 * its service), then each service's own listing, which adds what the tagging API misses.
 */
export const REGIONAL_LISTERS: readonly ServiceLister[] = [
  { service: 'tag', list: (c, found, tagKey) => listByTagKey(c.tagging, tagKey, found) },
  { service: 'lambda', list: (c, found) => listFunctions(c.lambda, found) },
  { service: 'sns', list: (c, found) => listTopics(c.sns, found) },
  { service: 'states', list: (c, found) => listStateMachines(c.sfn, found) },
  { service: 'dynamodb', list: (c, found) => listTables(c.dynamodb, found) },
  { service: 'secretsmanager', list: (c, found) => listSecrets(c.secretsmanager, found) },
  { service: 'logs', list: (c, found) => listLogGroups(c.logs, found) },
  { service: 'events', list: (c, found) => listRules(c.events, found) },
  { service: 'ecr', list: (c, found) => listRepositories(c.ecr, found) },
  { service: 'cloudformation', list: (c, found) => listStacks(c.cloudformation, found) },
];

/**
 * Global: listed once, after the regions. S3 after the tagging API, which names a bucket tagged but
 * unlisted here.
 */
export const GLOBAL_LISTERS: readonly ServiceLister[] = [
  { service: 'iam', list: (c, found) => listRoles(c.iam, found) },
  { service: 'iam', list: (c, found) => listOidcProviders(c.iam, found) },
  { service: 's3', list: (c, found) => listBuckets(c.s3, found) },
];

/**
 * The deleter of each resource type (`service:kind`), given the clients of the region the ARN
 * names. Each is safe to retry; already gone is for the caller to take as success.
 */
export const DELETERS: ReadonlyMap<string, (c: TagClients, arn: string) => Promise<void>> = new Map<
  string,
  (c: TagClients, arn: string) => Promise<void>
>([
  ['iam:role', (c, arn) => deleteRole(c.iam, arn)],
  ['s3:bucket', (c, arn) => deleteBucket(c.s3, arn)],
  ['lambda:function', (c, arn) => deleteFunction(c.lambda, arn)],
  ['lambda:version', (c, arn) => deleteVersion(c.lambda, arn)],
  ['events:rule', (c, arn) => deleteRule(c.events, arn)],
  ['ecr:repository', (c, arn) => deleteRepository(c.ecr, arn)],
  ['iam:oidc-provider', (c, arn) => deleteOidcProvider(c.iam, arn)],
  ['sns:topic', (c, arn) => deleteTopic(c.sns, arn)],
  ['states:stateMachine', (c, arn) => deleteStateMachine(c.sfn, arn)],
  ['dynamodb:table', (c, arn) => deleteTable(c.dynamodb, arn)],
  ['secretsmanager:secret', (c, arn) => deleteSecret(c.secretsmanager, arn)],
  ['cloudformation:stack', (c, arn) => deleteStack(c.cloudformation, arn)],
  ['logs:log-group', (c, arn) => deleteLogGroup(c.logs, arn)],
]);
