/**
 * The secret-reference grammar of every config file: config names where a secret comes from, never
 * its value. A reference is one of
 * - `op://vault/item/field`: a 1Password item, resolved with the worker's service account token;
 * - `env:NAME`: a variable of the worker's environment (names allowed by worker.yaml);
 * - `file:/absolute/path`: a file under the worker's secret folders;
 * - `aws-sm://name#key`: an AWS Secrets Manager secret (names allowed by worker.yaml), the key
 *   picking one value of a JSON secret.
 * A connector's secrets come from sources ({@link SecretSourceSchema}: an env file, a SOPS file or
 * references), and its AWS keys from a role chain of the worker's settings
 * ({@link ConnectorAwsSchema}). Which references a worker accepts is its own decision
 * (./worker.ts); resolving them is the secret activities'.
 */
import { z } from 'zod';

/** An environment variable name: `env:` references, and the variables a connector receives. */
const ENV_NAME = '[A-Za-z_][A-Za-z0-9_]*';
/** An AWS Secrets Manager secret name, and a key of its JSON value. */
const AWS_SM_NAME = '[A-Za-z0-9/_+=.@-]{1,512}';
const AWS_SM_KEY = '[A-Za-z0-9_.@:/+=-]{1,256}';

const SECRET_REF = new RegExp(
  `^(?:op://[^/]+/[^/]+/.+|env:${ENV_NAME}|file:/.+|aws-sm://${AWS_SM_NAME}(?:#${AWS_SM_KEY})?)$`,
);
const AWS_SM_REF = new RegExp(`^aws-sm://(${AWS_SM_NAME})(?:#(${AWS_SM_KEY}))?$`);

/** A secret reference in any config file (the forms above). */
export const SecretRefSchema = z.string().regex(SECRET_REF, {
  message:
    'write a secret reference: op://vault/item/field, env:NAME, file:/absolute/path or aws-sm://name#key',
});

/** Where a reference points, by its scheme; `undefined` for text that is not one. */
export type SecretRefScheme = 'op' | 'env' | 'file' | 'aws-sm';

/** The scheme of `reference` by its prefix alone (the grammar is {@link SecretRefSchema}'s). */
export function secretRefScheme(reference: string): SecretRefScheme | undefined {
  if (reference.startsWith('op://')) return 'op';
  if (reference.startsWith('env:')) return 'env';
  if (reference.startsWith('file:')) return 'file';
  if (reference.startsWith('aws-sm://')) return 'aws-sm';
  return undefined;
}

/** An `aws-sm://<name>#<key>` reference, parsed: the secret's name and the JSON key, if any. */
export function parseAwsSecretsManagerReference(
  reference: string,
): { name: string; key?: string } | undefined {
  const m = AWS_SM_REF.exec(reference);
  if (!m) return undefined;
  return m[2] === undefined ? { name: m[1]! } : { name: m[1]!, key: m[2] };
}

/** An environment variable name as the connector sees it. */
export const envNameSchema = z
  .string()
  .regex(new RegExp(`^${ENV_NAME}$`), 'an environment variable name is letters, digits and _');

const absolutePath = z.string().regex(/^\//, 'write an absolute path');

/** Where a connector's secret environment comes from: one of three tiers, chosen per connector. */
export const SecretSourceSchema = z.discriminatedUnion('type', [
  z.strictObject({
    /**
     * An env file (`NAME=value` lines). Values written `op://vault/item/field` are resolved through
     * 1Password as `op run --env-file` does (tier 1); a file with any literal value is a plain
     * env file (tier 3) and is refused unless only its owner can read it.
     */
    type: z.literal('env-file'),
    path: absolutePath,
  }),
  z.strictObject({
    /** A file encrypted by `sops` with age (tier 2); its values may be op:// references too. */
    type: z.literal('sops'),
    path: absolutePath,
    /** @default from the extension: .json, .yaml/.yml, else dotenv */
    format: z.enum(['dotenv', 'yaml', 'json']).optional(),
    /**
     * The age key file. The worker uses only its own key (SOPS_AGE_KEY_FILE or SOPS_AGE_KEY): a
     * different file here is refused. Leave it out.
     */
    ageKeyFile: absolutePath.optional(),
  }),
  z.strictObject({
    /** Variables given as references right here (any form of {@link SecretRefSchema}). */
    type: z.literal('refs'),
    vars: z.record(envNameSchema, SecretRefSchema),
  }),
]);
export type SecretSource = z.infer<typeof SecretSourceSchema>;

/** The name of a role chain of the worker's settings (`secrets.roleChains` in worker.yaml). */
export const roleChainNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a role chain name is lower case letters, digits and dashes');

/** The variables that carry a role chain's temporary credentials into the container. */
export const AWS_CREDENTIAL_VARS = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
] as const;

/**
 * AWS access for a connector: the worker assumes the named role chain of its settings before each
 * run and passes the last role's temporary credentials as AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
 * and AWS_SESSION_TOKEN. The connector never holds long-lived keys.
 */
export const ConnectorAwsSchema = z.strictObject({
  roleChain: roleChainNameSchema,
});

/**
 * The variables a connector with a role chain also sets itself (in `environment` or a `refs`
 * source), each with its path in the connector: they would hide the chain's keys.
 */
export function credentialVarsBesideRoleChain(connector: {
  environment: Record<string, string>;
  secrets: readonly SecretSource[];
}): { name: string; at: (string | number)[] }[] {
  const given = [
    ...Object.keys(connector.environment).map((name) => ({ name, at: ['environment', name] })),
    ...connector.secrets.flatMap((s, j) =>
      s.type === 'refs'
        ? Object.keys(s.vars).map((name) => ({ name, at: ['secrets', j, 'vars', name] }))
        : [],
    ),
  ];
  return given.filter(({ name }) => (AWS_CREDENTIAL_VARS as readonly string[]).includes(name));
}
