/**
 * Bundle the workflows once, at build time, into dist/workflow-bundle.js. The production worker
 * (dist/workers/main.js) loads it instead of running webpack at every start, so it starts fast and
 * runs exactly the workflow code that was built and tested.
 *
 *   npx tsx scripts/build-bundle.ts [out-file]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { failureConverterPath } from '../lib/runtime/codec';

/** Where the worker looks for the bundle when it runs compiled. */
const DEFAULT_BUNDLE_FILE = path.resolve(__dirname, '..', 'dist', 'workflow-bundle.js');

/** Bundle `workflows/index.ts` and write it to `outFile`; returns the file's size in bytes. */
async function buildWorkflowBundle(outFile = DEFAULT_BUNDLE_FILE): Promise<number> {
  // The failure converter goes into the bundle too: with encryption on, failures thrown inside
  // workflows are then encoded like activity failures (it is a no-op without a key).
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    failureConverterPath: failureConverterPath(),
  });
  await mkdir(path.dirname(outFile), { recursive: true });
  await writeFile(outFile, code);
  return Buffer.byteLength(code);
}

if (require.main === module) {
  const out = path.resolve(process.argv[2] ?? DEFAULT_BUNDLE_FILE);
  buildWorkflowBundle(out).then(
    (bytes) => process.stderr.write(`workflow bundle: ${out} (${Math.round(bytes / 1024)} KiB)\n`),
    (err: unknown) => {
      process.stderr.write(`workflow bundle failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
