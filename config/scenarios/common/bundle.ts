/**
 * Lambda code of the demo apps, bundled with esbuild into one file (no Docker): the AWS SDK stays
 * out of the bundle because the Lambda Node.js runtime provides it. The output is a folder of its
 * own under the synthesis's temporary folder, which the app hands to `Code.fromAsset`.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { aws_lambda as lambda } from 'aws-cdk-lib';
import { buildSync } from 'esbuild';

/** Bundle `entry` (a TypeScript handler exporting `handler`) into `index.js` of an asset folder. */
export function bundledCode(entry: string): lambda.Code {
  const outdir = mkdtempSync(path.join(os.tmpdir(), 'lambda-'));
  buildSync({
    entryPoints: [entry],
    outfile: path.join(outdir, 'index.js'),
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    external: ['@aws-sdk/*'],
    legalComments: 'none',
    // The same source gives the same bytes wherever it is synthesized, so the asset hash is stable.
    absWorkingDir: path.dirname(entry),
    logLevel: 'silent',
  });
  return lambda.Code.fromAsset(outdir);
}
