/**
 * `aws-sm://<name>#<key>` references: a secret of AWS Secrets Manager, read with the worker's own
 * AWS credentials, whole or one key of its JSON. The name must be one of the worker's
 * (`secrets.awsSecretsManager` in worker.yaml), checked before the call. Errors name the reference
 * and the reason, never the secret's text.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseAwsSecretsManagerReference } from '../../lib/config/secret-refs';
import { awsErrorName } from '../aws/errors';
import { SecretError } from './errors';
import { scrubAwsMessage } from './role-chain';

/** AWS answers that retrying cannot change: no such secret, no access, a secret being deleted. */
const PERMANENT = new Set([
  'ResourceNotFoundException',
  'AccessDeniedException',
  'AccessDenied',
  'InvalidRequestException',
  'InvalidParameterException',
  'DecryptionFailure',
  'UnrecognizedClientException',
]);

/**
 * Resolve one `aws-sm://` reference (already allowed by the caller's bounds): the secret string,
 * or the value of `key` in its JSON (a string as it is, a number or boolean as written).
 */
export async function resolveAwsSecretsManager(
  client: Pick<SecretsManagerClient, 'send'>,
  reference: string,
  where: (message: string) => string,
): Promise<string> {
  const ref = parseAwsSecretsManagerReference(reference);
  if (!ref) throw new SecretError(where(`${reference}: not an aws-sm://name#key reference`));
  let text: string | undefined;
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: ref.name }));
    text = out.SecretString;
  } catch (err) {
    const name = awsErrorName(err) ?? 'Error';
    const message = scrubAwsMessage((err as Error)?.message ?? String(err), []);
    if (PERMANENT.has(name))
      throw new SecretError(where(`${reference}: AWS Secrets Manager refused it (${name}: ${message})`));
    throw new Error(where(`${reference}: AWS Secrets Manager failed (${name}: ${message})`));
  }
  if (text === undefined)
    throw new SecretError(
      where(`${reference}: the secret has no string value (a binary secret is not supported)`),
    );
  if (ref.key === undefined) return text;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new SecretError(
      where(`${reference}: the secret is not a JSON object, so it has no key ${ref.key}`),
    );
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new SecretError(
      where(`${reference}: the secret is not a JSON object, so it has no key ${ref.key}`),
    );
  const value = (doc as Record<string, unknown>)[ref.key];
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const keys = Object.keys(doc).join(', ');
  throw new SecretError(
    where(
      value === undefined
        ? `${reference}: the secret has no key ${ref.key} (it has: ${keys || 'none'})`
        : `${reference}: the value of ${ref.key} is not a string, number or boolean`,
    ),
  );
}
