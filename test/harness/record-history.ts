import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { HISTORIES_DIR } from '../../scripts/histories';
import { stack } from './stack';

/**
 * When SV0_WRITE_HISTORIES=1, save a workflow's history (latest run) under test/histories/ for the
 * replay tests, with the real Temporal CLI.
 */
export function recordHistory(workflowId: string, name: string, namespace = stack().namespace): void {
  if (process.env.SV0_WRITE_HISTORIES !== '1') return;
  const { tools, temporalAddress } = stack();
  const show = spawnSync(
    tools.temporalCli,
    [
      'workflow',
      'show',
      '--output',
      'json',
      '--address',
      temporalAddress,
      '--namespace',
      namespace,
      '-w',
      workflowId,
    ],
    { encoding: 'utf8' },
  );
  if (show.status !== 0) throw new Error(`temporal workflow show failed: ${show.stderr}`);
  writeFileSync(path.join(HISTORIES_DIR, `${name}.json`), show.stdout);
}
