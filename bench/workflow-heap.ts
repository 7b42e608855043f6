/**
 * The heap one cached workflow holds for the modules it loads, without a Temporal server.
 *
 * The SDK's reusable V8 context (the default) gives every workflow run its own webpack module
 * cache: each run evaluates every module `workflows/index.ts` imports, directly or not, except
 * the SDK's own modules that load before the first workflow. A worker keeps up to
 * `maxCachedWorkflows` runs in its cache, so what one run's modules take is paid that many times.
 *
 * This script bundles the workflows as the production worker does (scripts/build-bundle.ts, with
 * the failure converter), loads the bundle in the SDK's `ReusableVMWorkflowCreator`, creates
 * `count` demo lifecycle workflows in it (each `initRuntime`: a fresh module cache and every
 * module evaluated, as at a workflow's first task) and keeps them, then reads the V8 heap after a
 * full GC. Prints the bundle's size, the modules per workflow, the heap per workflow and the
 * CPU time per workflow creation.
 *
 *   npx tsx bench/workflow-heap.ts [count (200)] [workflows path (workflows/index.ts)]
 */
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { bundleWorkflowCode } from '@temporalio/worker';
import { ReusableVMWorkflowCreator } from '@temporalio/worker/lib/workflow/reusable-vm';
import { failureConverterPath } from '../lib/runtime/codec';
import { WorkflowTypes } from '../lib/names';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const MiB = 1024 * 1024;

function usedHeap(): number {
  for (let i = 0; i < 3; i++) gc();
  return v8.getHeapStatistics().used_heap_size;
}

/** The bundle as the worker loads it: code, its inline source map, and a file name. */
function parseBundle(code: string): { code: string; sourceMap: object; filename: string } {
  const at = code.lastIndexOf('//# sourceMappingURL=data:');
  const base64 = code.slice(code.indexOf('base64,', at) + 'base64,'.length).trim();
  const sourceMap = JSON.parse(Buffer.from(base64, 'base64').toString('utf8')) as object;
  return { code, sourceMap, filename: path.resolve('workflow-bundle.js') };
}

function workflowInfo(i: number) {
  const id = `demo-heap-${i}`;
  return {
    workflowId: id,
    runId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    workflowType: WorkflowTypes.demoLifecycle,
    taskQueue: 'sv0-infra',
    namespace: 'default',
    firstExecutionRunId: id,
    attempt: 1,
    historyLength: 1,
    historySize: 0,
    continueAsNewSuggested: false,
    searchAttributes: {},
    typedSearchAttributes: [],
    memo: {},
    startTime: new Date(0),
    runStartTime: new Date(0),
    priority: {},
    unsafe: { isReplaying: false, now: Date.now },
  };
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 200);
  const workflowsPath = path.resolve(process.argv[3] ?? path.join(__dirname, '..', 'workflows', 'index.ts'));
  const quiet = { trace() {}, debug() {}, info() {}, log() {}, warn() {}, error() {} };
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    failureConverterPath: failureConverterPath(),
    logger: quiet,
  });
  const bundle = parseBundle(code);
  // Each module of the bundle opens with `/***/ "<id>"` on a line of its own (webpack 5).
  const moduleIds = new Set(code.match(/^\s*\/\*\*\*\/ "[^"]+":?\s*$/gm) ?? []);

  const creator = await ReusableVMWorkflowCreator.create(
    bundle as never,
    60_000,
    new Set<string>(),
    undefined,
  );
  const base = usedHeap();
  const cpu0 = process.cpuUsage();
  const kept: { activator: { moduleCache: Map<string, unknown> } }[] = [];
  for (let i = 0; i < count; i++) {
    const wf = await creator.createWorkflow({
      info: workflowInfo(i) as never,
      randomnessSeed: [i],
      now: Date.now(),
      showStackTraceSources: false,
    });
    kept.push(wf as never);
  }
  const cpu = process.cpuUsage(cpu0);
  const after = usedHeap();
  const perWorkflow = (after - base) / count;
  const moduleCache = kept[0]?.activator.moduleCache ?? new Map<string, unknown>();
  const modules = moduleCache.size;
  const groups = new Map<string, number>();
  for (const id of moduleCache.keys()) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(id);
    const group = pkg ? `node_modules/${pkg[1]}` : id.replace(/^\.\//, '').replace(/\/[^/]+$/, '/');
    groups.set(group, (groups.get(group) ?? 0) + 1);
  }
  const byGroup = [...groups].sort((a, b) => b[1] - a[1]).map(([g, n]) => `${g} ${n}`);
  const codeOnly = code.lastIndexOf('//# sourceMappingURL=');
  const lines = [
    `workflows: ${path.relative(process.cwd(), workflowsPath)}`,
    `bundle: ${(code.length / MiB).toFixed(2)} MiB (${(codeOnly / MiB).toFixed(2)} MiB without its inline source map), ${moduleIds.size} modules`,
    `modules evaluated per workflow (its own module cache): ${modules}: ${byGroup.join(', ')}`,
    `workflows created and kept: ${count}`,
    `V8 heap used after full GC: ${(base / MiB).toFixed(1)} MiB before, ${(after / MiB).toFixed(1)} MiB after`,
    `heap per workflow: ${(perWorkflow / 1024).toFixed(0)} KiB; x 250 cached: ${((perWorkflow * 250) / MiB).toFixed(0)} MiB`,
    `CPU per workflow creation: ${((cpu.user + cpu.system) / 1000 / count).toFixed(2)} ms`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  for (const wf of kept) await (wf as unknown as { dispose(): Promise<void> }).dispose();
  await creator.destroy();
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
