import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * docs/architecture.md's table "Where each family lives" names, for every family, the place of
 * its contract, workflows, activities, client helpers, CLI commands, up step and tests. Every path
 * there must exist, and each family's row must follow the one rule (`lib/contracts/<family>.ts`,
 * `workflows/<family>/`, ...), so a move that forgets the doc fails here.
 */
const ROOT = path.resolve(__dirname, '../..');
const FAMILIES = ['org', 'connectors', 'demo', 'budget'];

function familyTable(): Map<string, string[]> {
  const doc = readFileSync(path.join(ROOT, 'docs/architecture.md'), 'utf8');
  const section = doc.split(/^## /m).find((s) => s.startsWith('Where each family lives'));
  if (!section) throw new Error('docs/architecture.md has no section "Where each family lives"');
  const rows = new Map<string, string[]>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const family = cells[1] ?? '';
    if (!FAMILIES.includes(family)) continue;
    rows.set(
      family,
      [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? ''),
    );
  }
  return rows;
}

describe('docs/architecture.md', () => {
  const table = familyTable();

  it('has one row per family', () => {
    expect([...table.keys()].sort()).toEqual([...FAMILIES].sort());
  });

  it.each(FAMILIES)('names only paths that exist for %s', (family) => {
    const paths = table.get(family) ?? [];
    expect(paths.length).toBeGreaterThan(5);
    const missing = paths.filter((p) => !existsSync(path.join(ROOT, p)));
    expect(missing).toEqual([]);
  });

  it.each(FAMILIES)('places %s by the one rule in every layer', (family) => {
    const paths = table.get(family) ?? [];
    expect(paths).toContain(`lib/contracts/${family}.ts`);
    expect(paths).toContain(`clients/${family}/commands.ts`);
    expect(paths).toContain(`clients/${family}/up.ts`);
    expect(paths).toContain(`test/workflows/${family}/`);
    for (const layer of ['workflows', 'activities']) {
      expect(paths.some((p) => p.startsWith(`${layer}/${family}/`))).toBe(true);
    }
  });
});
