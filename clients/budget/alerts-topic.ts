/**
 * `sv0 budget alerts-endpoint --subscribe URL`: subscribe the endpoint's public URL to the budget
 * alerts topic the org bootstrap creates, so that budget notifications, the freeze actions'
 * notices and cost anomalies reach the guards. SNS then posts a SubscriptionConfirmation, which the
 * endpoint confirms (only at SNS's own URLs); Subscribe is idempotent for the same URL.
 */
import { GetTopicAttributesCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { ALERTS_REGION, alertsTopicArn } from '../../lib/org/backstop';
import { BUDGET_ALERTS_TOPIC } from '../../lib/names';
import { defaultAwsConfig, type AwsClientConfig } from '../../lib/runtime/aws';
import { CliError, ExitCode } from '../errors';

export interface SubscribeAlertsInput {
  /** The URL SNS posts to: http(s), reachable from AWS. */
  url: string;
  /** @default the bootstrap's topic in the caller's (management) account */
  topicArn?: string;
  aws?: AwsClientConfig;
}

/** The URL to subscribe, checked (exit 2 unless http or https). */
export function subscribeUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliError(`--subscribe: "${text.slice(0, 120)}" is not a URL`, ExitCode.BadInput);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new CliError(`--subscribe: "${text.slice(0, 120)}" is not an http(s) URL`, ExitCode.BadInput);
  return url;
}

/** Subscribe `url` to the alerts topic; returns the topic and the subscription (pending until confirmed). */
export async function subscribeAlertsEndpoint(
  input: SubscribeAlertsInput,
): Promise<{ topicArn: string; subscriptionArn: string }> {
  const url = subscribeUrl(input.url);
  // SNS is regional: a topic is reached in its own region.
  const region = input.topicArn?.split(':')[3] || ALERTS_REGION;
  const config = { ...(input.aws ?? defaultAwsConfig()), region };
  const sns = new SNSClient(config);
  const topicArn =
    input.topicArn ??
    alertsTopicArn(
      (await new STSClient(config).send(new GetCallerIdentityCommand({}))).Account!,
      BUDGET_ALERTS_TOPIC,
    );
  try {
    await sns.send(new GetTopicAttributesCommand({ TopicArn: topicArn }));
  } catch (err) {
    if (/NotFound/.test((err as Error).name))
      throw new CliError(
        `the budget alerts topic ${topicArn} does not exist; \`sv0 org apply\` creates it`,
        ExitCode.Failed,
      );
    throw err;
  }
  const out = await sns.send(
    new SubscribeCommand({
      TopicArn: topicArn,
      Protocol: url.protocol.slice(0, -1),
      Endpoint: input.url,
      ReturnSubscriptionArn: true,
    }),
  );
  return { topicArn, subscriptionArn: out.SubscriptionArn ?? 'pending confirmation' };
}
