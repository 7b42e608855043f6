/**
 * org.yaml's `tagPolicy`: the sv0:* tags' allowed values, declared once. The bootstrap writes them
 * into an Organizations tag policy (lib/org/tag-policy.ts), and the owner a demo names must be
 * among its `sv0:owner` values. Also the tag keys and values AWS Organizations accepts, which
 * org.yaml's account tags and cost allocation tags are written in.
 */
import { z } from 'zod';
import { Tags } from '../names';
import {
  demoStackTags,
  PER_DEMO_TAG_KEYS,
  TAG_POLICY_MAX_CHARS,
  tagPolicyDocument,
  tagValueAllowed,
} from '../org/tag-policy';
import type { OrgConfig } from './org';

/** Tag keys and values as AWS Organizations accepts them. */
export const tagKey = z
  .string()
  .regex(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u, 'a tag key is 1-128 letters, digits, spaces or _.:/=+-@');
export const tagValue = z
  .string()
  .regex(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u, 'a tag value is 0-256 letters, digits, spaces or _.:/=+-@');

/** An allowed tag value; a trailing `*` allows every value that starts with what comes before it. */
const allowedTagValue = z
  .string()
  .regex(
    /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,255}\*?$/u,
    'an allowed value is a tag value (letters, digits, spaces or _.:/=+-@), optionally ending in *',
  );

export const TagPolicySchema = z.strictObject({
  /** @default sv0-tags */
  name: z
    .string()
    .regex(/^[A-Za-z0-9_+=,.@-]{1,128}$/, 'a policy name is 1-128 letters, digits or _+=,.@-')
    .default('sv0-tags'),
  description: z.string().max(512).default('Allowed values of the sv0:* tags.'),
  /** `root`, OU names or account names. */
  targets: z.array(z.string().min(1)).min(1, 'attach the tag policy somewhere (root, an OU or an account)'),
  /** Allowed values per tag key; `sv0:owner` is the one list of owners demos may name. */
  values: z.record(tagKey, z.array(allowedTagValue).min(1, 'list at least one allowed value')),
  /** Resource types (`s3:bucket`, `dynamodb:ALL_SUPPORTED`) where AWS refuses noncompliant values. */
  enforcedFor: z
    .array(z.string().regex(/^[a-z0-9-]+:([A-Za-z0-9-]+|ALL_SUPPORTED)$/, 'write service:resourceType'))
    .default([]),
});
export type TagPolicyConfig = z.infer<typeof TagPolicySchema>;

/**
 * The tag policy's values must allow what demos tag their stacks with, must name the owners, must
 * leave the per-demo keys free, must fit AWS's size limit, and the accounts' own tags must comply
 * with them. (Its targets are checked with the SCPs' in org.ts.)
 */
export function checkTagPolicy(
  org: Pick<OrgConfig, 'accounts'>,
  policy: TagPolicyConfig,
  issue: (path: (string | number)[], message: string) => void,
): void {
  const at = ['tagPolicy'];
  const values = policy.values;
  if (!values[Tags.owner])
    issue(
      [...at, 'values'],
      `declare the owners under ${Tags.owner}: \`sv0 demo start --owner\` must name one`,
    );
  for (const key of Object.keys(values)) {
    if (PER_DEMO_TAG_KEYS.includes(key))
      issue(
        [...at, 'values', key],
        `${key} differs per demo; a tag policy listing its values would make demos noncompliant`,
      );
  }
  // What every demo stack carries (activities/demo/lifecycle.ts) must comply.
  const demo = { ...demoStackTags('<scenario>'), [Tags.ephemeral]: 'true' };
  for (const [key, value] of Object.entries(demo)) {
    const allowed = values[key];
    if (!allowed) continue;
    const ok =
      key === Tags.project
        ? allowed.some((v) => v.endsWith('*') && 'demo-'.startsWith(v.slice(0, -1)))
        : tagValueAllowed(value, allowed);
    if (!ok)
      issue(
        [...at, 'values', key],
        `demo stacks are tagged ${key}=${value}; allow ${key === Tags.project ? 'demo-*' : value}`,
      );
  }
  org.accounts.forEach((a, i) => {
    for (const [key, value] of Object.entries(a.tags)) {
      const allowed = values[key];
      if (allowed && !tagValueAllowed(value, allowed))
        issue(
          ['accounts', i, 'tags', key],
          `"${value}" is not an allowed value of ${key} (tagPolicy.values: ${allowed.join(', ')})`,
        );
    }
  });
  const size = JSON.stringify(tagPolicyDocument(values, policy.enforcedFor)).length;
  if (size > TAG_POLICY_MAX_CHARS)
    issue(
      [...at, 'values'],
      `the tag policy is ${size} characters (minified); AWS allows ${TAG_POLICY_MAX_CHARS}`,
    );
}

/**
 * The owners `sv0:owner` may name (the tag policy's values), or undefined when org.yaml declares
 * no tag policy (any owner is accepted then).
 */
export function declaredOwners(org: Pick<OrgConfig, 'tagPolicy'>): string[] | undefined {
  return org.tagPolicy?.values[Tags.owner];
}
