/** The secret-reference grammar every config file shares, and a connector's secret sources. */
import { describe, expect, it } from 'vitest';
import {
  credentialVarsBesideRoleChain,
  parseAwsSecretsManagerReference,
  SecretRefSchema,
  secretRefScheme,
  SecretSourceSchema,
} from '../../lib/config/secret-refs';

describe('secret references', () => {
  it.each([
    ['op://sv0-connectors/entra-prod/client_secret', 'op', true],
    ['op://vault/item/section/field', 'op', true],
    ['op://vault/item', 'op', false],
    ['env:PLATFORM_TOKEN', 'env', true],
    ['env:_X1', 'env', true],
    ['env:1X', 'env', false],
    ['env:', 'env', false],
    ['file:/etc/sv0/connectors/token', 'file', true],
    ['file:relative/token', 'file', false],
    ['aws-sm://sv0/connectors/entra#client_secret', 'aws-sm', true],
    ['aws-sm://sv0-exact', 'aws-sm', true],
    ['aws-sm://', 'aws-sm', false],
    ['hunter2-plain-token', undefined, false],
    ['https://hooks.example.com/T000/B000/secret', undefined, false],
  ] as const)('%s: scheme %s, valid %s', (ref, scheme, valid) => {
    expect(secretRefScheme(ref)).toBe(scheme);
    const parsed = SecretRefSchema.safeParse(ref);
    expect(parsed.success).toBe(valid);
    if (!parsed.success)
      expect(parsed.error.issues[0]?.message).toMatch(/^write a secret reference: op:\/\//);
  });

  it.each([
    ['aws-sm://sv0/connectors/entra#client_secret', { name: 'sv0/connectors/entra', key: 'client_secret' }],
    ['aws-sm://sv0-exact', { name: 'sv0-exact' }],
    ['aws-sm://', undefined],
    ['aws-sm://a b#k', undefined],
    ['aws-sm://arn:aws:secretsmanager:us-east-1:1:secret:x', undefined],
    [`aws-sm://${'n'.repeat(513)}`, undefined],
    [`aws-sm://n#${'k'.repeat(257)}`, undefined],
  ])('aws-sm: %s parses as the grammar allows', (ref, parsed) => {
    expect(parseAwsSecretsManagerReference(ref)).toEqual(parsed);
    expect(SecretRefSchema.safeParse(ref).success).toBe(parsed !== undefined);
  });
});

describe('secret sources', () => {
  it.each([
    [{ type: 'env-file', path: '/etc/sv0/connectors/entra.env' }, undefined],
    [{ type: 'sops', path: '/etc/sv0/connectors/entra.env.enc', format: 'dotenv' }, undefined],
    [{ type: 'refs', vars: { TOKEN: 'op://v/i/f', OTHER: 'env:OTHER' } }, undefined],
    [{ type: 'env-file', path: 'relative/entra.env' }, /path: write an absolute path/],
    [{ type: 'sops', path: '/x.enc', format: 'toml' }, /format/],
    [{ type: 'refs', vars: { TOKEN: 'the-token-itself' } }, /vars\.TOKEN: write a secret reference/],
    [{ type: 'refs', vars: { 'BAD NAME': 'env:X' } }, /vars\.BAD NAME/],
    [{ type: 'vault', path: '/x' }, /type/],
    [{ type: 'env-file', path: '/x', mode: '0600' }, /mode/],
  ])('%j', (source, problem) => {
    const parsed = SecretSourceSchema.safeParse(source);
    if (problem === undefined) {
      expect(parsed.error).toBeUndefined();
      return;
    }
    expect(parsed.success).toBe(false);
    const text = parsed.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
    expect(text).toMatch(problem);
  });

  it('finds the AWS credential variables a connector with a role chain also sets, with their paths', () => {
    expect(
      credentialVarsBesideRoleChain({
        environment: { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_REGION: 'us-east-1' },
        secrets: [
          { type: 'env-file', path: '/etc/sv0/connectors/a.env' },
          { type: 'refs', vars: { AWS_SECRET_ACCESS_KEY: 'op://v/i/f', TOKEN: 'env:T' } },
        ],
      }),
    ).toEqual([
      { name: 'AWS_ACCESS_KEY_ID', at: ['environment', 'AWS_ACCESS_KEY_ID'] },
      { name: 'AWS_SECRET_ACCESS_KEY', at: ['secrets', 1, 'vars', 'AWS_SECRET_ACCESS_KEY'] },
    ]);
    expect(credentialVarsBesideRoleChain({ environment: { AWS_REGION: 'us-east-1' }, secrets: [] })).toEqual(
      [],
    );
  });
});
