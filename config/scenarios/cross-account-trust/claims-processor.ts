/** Scores an insurance claim and records it in the claims table (demo workload). */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';

const db = new DynamoDBClient({});

interface ClaimEvent {
  claimId?: string;
  amount?: number | string;
}

export async function handler(event: ClaimEvent) {
  const amount = Number(event.amount ?? 0);
  const claim = {
    claimId: event.claimId ?? randomUUID(),
    amount: String(amount),
    decision: amount > 1000 ? 'review' : 'approve',
  };
  await db.send(
    new PutItemCommand({
      TableName: process.env.TABLE_NAME,
      Item: Object.fromEntries(Object.entries(claim).map(([k, v]) => [k, { S: v }])),
    }),
  );
  return claim;
}
