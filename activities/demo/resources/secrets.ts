/** Secrets Manager secrets. */
import {
  DeleteSecretCommand,
  paginateListSecrets,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { iso, toMap, type Listing } from './listing';

/** Every secret, with its tags and creation time, those scheduled for deletion included. */
export async function listSecrets(secretsmanager: SecretsManagerClient, found: Listing): Promise<void> {
  // Secrets scheduled for deletion still exist (and keep their name) for up to 30 days: list them too.
  for await (const page of paginateListSecrets(
    { client: secretsmanager },
    { IncludePlannedDeletion: true },
  )) {
    for (const s of page.SecretList ?? []) {
      if (s.ARN) found.add(s.ARN, toMap(s.Tags), iso(s.CreatedDate));
    }
  }
}

export async function deleteSecret(secretsmanager: SecretsManagerClient, arn: string): Promise<void> {
  // No recovery window: a demo's secret is disposable, and one pending deletion is not gone.
  await secretsmanager.send(new DeleteSecretCommand({ SecretId: arn, ForceDeleteWithoutRecovery: true }));
}
