/**
 * The sv0:* tags' allowed values as an AWS Organizations tag policy (TAG_POLICY), and the one
 * matching rule the CLI, the worker and config validation share. A tag policy constrains the
 * values of the keys it names; it never requires a key to be present (the sweep reports untagged
 * resources for that).
 *
 * Pure code: the planner runs inside workflows.
 */
import { Tags } from '../names';

/** AWS's limit on a tag policy document (characters of the minified JSON we send). */
export const TAG_POLICY_MAX_CHARS = 10_000;

/**
 * The keys whose values differ per demo (an id, a TTL an operator may extend): a tag policy that
 * listed their values would make every demo noncompliant.
 */
export const PER_DEMO_TAG_KEYS: readonly string[] = [Tags.demo, Tags.ttl];

/** The values every demo stack carries for its scenario, which the tag policy must allow. */
export function demoStackTags(scenario: string): Record<string, string> {
  return { [Tags.environment]: 'demo', [Tags.project]: `demo-${scenario}` };
}

/**
 * True when `value` is one of `allowed`. An allowed value ending in `*` allows every value that
 * starts with what comes before it (`demo-*` allows `demo-acme`), as AWS evaluates tag policies.
 */
export function tagValueAllowed(value: string, allowed: readonly string[]): boolean {
  return allowed.some((a) => (a.endsWith('*') ? value.startsWith(a.slice(0, -1)) : value === a));
}

/**
 * The tag policy document: one statement per key, its capitalization fixed by `tag_key` and its
 * values by `tag_value`; `enforcedFor` (resource types such as `s3:bucket`) makes AWS refuse a
 * noncompliant tagging operation on those types instead of only reporting it.
 */
export function tagPolicyDocument(
  values: Record<string, readonly string[]>,
  enforcedFor: readonly string[] = [],
): Record<string, unknown> {
  const tags: Record<string, unknown> = {};
  for (const [key, allowed] of Object.entries(values)) {
    tags[key.toLowerCase()] = {
      tag_key: { '@@assign': key },
      tag_value: { '@@assign': [...allowed] },
      ...(enforcedFor.length > 0 ? { enforced_for: { '@@assign': [...enforcedFor] } } : {}),
    };
  }
  return { tags };
}

/**
 * The allowed values per tag key that a live tag policy document assigns, for a plan line that
 * says what differs. Undefined for a document that is not a tag policy.
 */
export function tagPolicyValues(content: string): Record<string, string[]> | undefined {
  try {
    const doc = JSON.parse(content) as { tags?: Record<string, { tag_key?: unknown; tag_value?: unknown }> };
    if (!doc.tags || typeof doc.tags !== 'object') return undefined;
    const out: Record<string, string[]> = {};
    for (const [policyKey, statement] of Object.entries(doc.tags)) {
      const key = (statement?.tag_key as { '@@assign'?: unknown } | undefined)?.['@@assign'];
      const allowed = (statement?.tag_value as { '@@assign'?: unknown } | undefined)?.['@@assign'];
      out[typeof key === 'string' ? key : policyKey] = Array.isArray(allowed) ? allowed.map(String) : [];
    }
    return out;
  } catch {
    return undefined;
  }
}
