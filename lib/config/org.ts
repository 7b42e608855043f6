import { z } from 'zod';
import { configFile, loadYamlFile } from './load';

/**
 * config/org.yaml: the AWS Organization as the operator declares it. The org bootstrap reconciles
 * the live organization to it; demos, sweeps and budget freezes read which accounts are sandbox.
 */

const accountName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,49}$/, 'an account name is lower case letters, digits and dashes');

export const AccountSchema = z.strictObject({
  name: accountName,
  email: z.email('not a valid email address'),
  /** Name of a declared OU. */
  ou: z.string().min(1),
  /** Demos, sweeps and budget freezes may act only in accounts marked sandbox. */
  sandbox: z.boolean().default(false),
  /** Cost allocation tags on the account (the seed's sv0:* tags). */
  tags: z.record(z.string(), z.string()).default({}),
});
export type AccountConfig = z.infer<typeof AccountSchema>;

export const OrgSchema = z.strictObject({
  organizationalUnits: z.array(z.strictObject({ name: z.string().min(1) })).min(1),
  accounts: z.array(AccountSchema).min(1),
});
export type OrgConfig = z.infer<typeof OrgSchema>;

export const ORG_FILE = 'org.yaml';

/** Read and validate config/org.yaml from `configDir`. */
export function loadOrgConfig(configDir: string): OrgConfig {
  return loadYamlFile(configFile(configDir, ORG_FILE), OrgSchema);
}

/** The accounts where demos, sweeps and freezes may act. */
export function sandboxAccounts(org: OrgConfig): AccountConfig[] {
  return org.accounts.filter((a) => a.sandbox);
}
