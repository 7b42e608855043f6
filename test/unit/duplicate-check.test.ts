/**
 * `npm run lint` ends with a duplicate-code check (jscpd, configured in .jscpd.json): no block of
 * 10 or more lines repeated in production code. This proves the check can fail, and that today's
 * production code passes it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO_ROOT = path.resolve(__dirname, '../..');
const jscpd = (...paths: string[]) =>
  spawnSync(path.join(REPO_ROOT, 'node_modules', '.bin', 'jscpd'), paths, {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });

/** Two files that share their first `lines` lines of real code (from clients/doctor/container-engine.ts). */
function folderWithSharedBlock(lines: number): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sv0-duplicates-'));
  const source = readFileSync(path.join(REPO_ROOT, 'clients', 'doctor', 'container-engine.ts'), 'utf8').split(
    '\n',
  );
  const start = source.findIndex((l) => l.startsWith('export async function checkContainerEngine('));
  const block = source.slice(start, start + lines).join('\n');
  writeFileSync(path.join(dir, 'first.ts'), `${block}\n`);
  writeFileSync(path.join(dir, 'second.ts'), `// another module\n${block}\n`);
  return dir;
}

describe('the duplicate-code check of npm run lint', () => {
  it('fails on a block of code repeated in two modules, naming both', () => {
    const run = jscpd(folderWithSharedBlock(30));
    expect(run.status).not.toBe(0);
    expect(run.stdout).toMatch(/first\.ts[\s\S]*second\.ts/);
  });

  it('passes on today’s production code', () => {
    const run = jscpd();
    expect(run.stderr + run.stdout).toContain('Found 0 clones');
    expect(run.status).toBe(0);
  });
});
