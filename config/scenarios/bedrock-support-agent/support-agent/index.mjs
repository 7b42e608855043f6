/**
 * The support agent's Lambda (demo workload), a plain asset: this folder is the Lambda's code as
 * it is, and the AWS SDK comes from the Lambda Node.js runtime. Invoked with `{ question }`, it
 * answers with the Bedrock model the Sandbox OU allows (MODEL_ID), records the ticket and escalates
 * what the model says it cannot answer. Invoked by the Bedrock agent's `escalation` action group,
 * it records an escalated ticket and publishes it to the escalation topic.
 */
import { randomUUID } from 'node:crypto';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';

const bedrock = new BedrockRuntimeClient({});
const db = new DynamoDBClient({});
const sns = new SNSClient({});

async function record(question, answer, status) {
  const ticket = { ticketId: randomUUID(), question, answer, status };
  await db.send(
    new PutItemCommand({
      TableName: process.env.TABLE_NAME,
      Item: Object.fromEntries(Object.entries(ticket).map(([k, v]) => [k, { S: v }])),
    }),
  );
  if (status === 'escalated')
    await sns.send(new PublishCommand({ TopicArn: process.env.TOPIC_ARN, Message: question }));
  return ticket;
}

export async function handler(event) {
  if (event.actionGroup) {
    // What a Bedrock agent sends a function-schema action group, and the answer it expects.
    const question = event.parameters?.find((p) => p.name === 'question')?.value ?? '';
    const ticket = await record(question, '', 'escalated');
    return {
      messageVersion: event.messageVersion,
      response: {
        actionGroup: event.actionGroup,
        function: event.function,
        functionResponse: {
          responseBody: { TEXT: { body: `Escalated to a human as ticket ${ticket.ticketId}.` } },
        },
      },
    };
  }
  const question = event.question ?? 'How do I rotate my access keys?';
  const reply = await bedrock.send(
    new ConverseCommand({
      modelId: process.env.MODEL_ID,
      system: [{ text: 'You answer AWS security support tickets. Say ESCALATE if you cannot answer.' }],
      messages: [{ role: 'user', content: [{ text: question }] }],
      inferenceConfig: { maxTokens: 300 },
    }),
  );
  const answer = reply.output?.message?.content?.[0]?.text ?? '';
  return record(question, answer, /escalate/i.test(answer) ? 'escalated' : 'answered');
}
