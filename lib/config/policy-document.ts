/**
 * Policy documents as org.yaml writes them (JSON text or a YAML mapping) and as AWS receives them,
 * for the SCP checks (org.ts), the RegionLock reader (region-lock.ts) and the desired organization
 * (lib/org/desired.ts).
 */

/**
 * The document as AWS receives it: minified JSON. A string must parse as JSON; the result must be
 * a JSON object.
 */
export function policyContent(
  document: string | Record<string, unknown>,
): { text: string; value: Record<string, unknown> } | { error: string } {
  let value: unknown = document;
  if (typeof document === 'string') {
    try {
      value = JSON.parse(document);
    } catch (err) {
      return { error: `not valid JSON: ${(err as Error).message}` };
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { error: 'a policy document is a JSON object' };
  return { text: JSON.stringify(value), value: value as Record<string, unknown> };
}

/** A document's statements: its `Statement` list, a single statement as a list of one, or none. */
export function policyStatements(doc: Record<string, unknown>): unknown[] {
  return Array.isArray(doc.Statement) ? doc.Statement : doc.Statement ? [doc.Statement] : [];
}
