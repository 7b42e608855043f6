import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stack } from '../harness/stack';
import { uniqueId } from '../harness/temporal';

const REPO = path.resolve(__dirname, '../..');

/**
 * A planted leak fails the run: vitest runs a one-file fixture with the suite's own setup file
 * (whose afterAll scans for registered secrets) against this run's Temporal server, once with the
 * canary in a workflow input and once without. Only the planted run may exit non-zero.
 */
function fixtureRun(leak: boolean): { status: number | null; output: string } {
  const run = spawnSync(
    process.execPath,
    [
      path.join(REPO, 'node_modules/vitest/vitest.mjs'),
      'run',
      '--config',
      'test/fixtures/secret-leak/vitest.config.mts',
    ],
    {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 120_000,
      env: {
        ...process.env,
        SV0_FIXTURE_STACK: JSON.stringify(stack()),
        SV0_FIXTURE_CANARY: `canary-${uniqueId('leak')}`,
        SV0_FIXTURE_LEAK: leak ? '1' : '0',
        // The fixture's registry is its own: the outer run never sees the canary as its secret.
        SV0_SECRET_REGISTRY_DIR: mkdtempSync(path.join(tmpdir(), 'sv0-fixture-registry-')),
      },
    },
  );
  return { status: run.status, output: `${run.stdout}\n${run.stderr}` };
}

describe('the secret scan can fail the run', () => {
  it('a run whose file leaves a registered secret in a history exits non-zero, naming the leak', () => {
    const { status, output } = fixtureRun(true);
    expect(status, output).not.toBe(0);
    expect(output).toMatch(/secrets leaked \(1\)/);
    expect(output).toMatch(/as plain in history of planted-leak-/);
  });

  it('the same run without the leak passes', () => {
    const { status, output } = fixtureRun(false);
    expect(status, output).toBe(0);
  });
});
