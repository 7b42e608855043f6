/**
 * Refresh the replay histories under test/histories/ from a Temporal server (usually the dev
 * server of `npm run dev`, after running the workflows you changed). See CONTRIBUTING.md.
 *
 *   npx tsx scripts/capture-histories.ts smoke=type:smokeWorkflow
 *   npx tsx scripts/capture-histories.ts org-bootstrap=org-bootstrap-123456789012 --address 127.0.0.1:7233
 *
 * Each argument is `<name>=<workflowId>` or `<name>=type:<WorkflowType>` (the newest closed run
 * of that type); it writes test/histories/<name>.json. The server is found like the CLI finds it
 * (--address, --namespace, else TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, the envconfig profile).
 * Histories must come from a server that runs without payload encryption, and from runs whose
 * inputs hold references, never secret values: they are committed.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { Command } from 'commander';
import { connectClient } from '../lib/runtime/temporal';
import { fetchHistoryForReplay, HISTORIES_DIR, historyToJsonText } from './histories';

const NAME = /^[a-z0-9][a-z0-9-]*$/;

/** One capture request, parsed from `<name>=<workflowId>` or `<name>=type:<WorkflowType>`. */
export interface CaptureSpec {
  name: string;
  workflowId?: string;
  workflowType?: string;
}

/** Parse a capture argument; errors name the argument and what is wrong. */
function parseCaptureSpec(arg: string): CaptureSpec {
  const eq = arg.indexOf('=');
  const name = arg.slice(0, eq);
  const target = arg.slice(eq + 1);
  if (eq <= 0 || !target)
    throw new Error(`"${arg}": expected <name>=<workflowId> or <name>=type:<WorkflowType>`);
  if (!NAME.test(name))
    throw new Error(`"${arg}": the name must match ${NAME.source} (it becomes the file name)`);
  return target.startsWith('type:') ? { name, workflowType: target.slice(5) } : { name, workflowId: target };
}

/** The workflow id and run of a spec: the given id, or the newest closed run of the type. */
async function resolveRun(
  client: Client,
  spec: CaptureSpec,
): Promise<{ workflowId: string; runId?: string }> {
  if (spec.workflowId) return { workflowId: spec.workflowId };
  const query = `WorkflowType = "${spec.workflowType}" AND ExecutionStatus != "Running"`;
  for await (const run of client.workflow.list({ query, pageSize: 1 })) {
    return { workflowId: run.workflowId, runId: run.runId };
  }
  throw new Error(`no closed run of workflow type ${spec.workflowType} on this server: run it first`);
}

/** Capture each spec into `outDir`; returns the files written. */
async function captureHistories(
  client: Client,
  specs: CaptureSpec[],
  outDir = HISTORIES_DIR,
): Promise<string[]> {
  const written: string[] = [];
  for (const spec of specs) {
    const { workflowId, runId } = await resolveRun(client, spec);
    const history = await fetchHistoryForReplay(client, workflowId, runId);
    const file = path.join(outDir, `${spec.name}.json`);
    writeFileSync(file, historyToJsonText(history));
    process.stderr.write(
      `${path.relative(process.cwd(), file)}: ${workflowId} (${history.events?.length ?? 0} events)\n`,
    );
    written.push(file);
  }
  return written;
}

if (require.main === module) {
  const program = new Command('capture-histories')
    .argument('<captures...>', '<name>=<workflowId> or <name>=type:<WorkflowType>')
    .option('--address <host:port>', 'Temporal frontend address')
    .option('--namespace <name>', 'Temporal namespace')
    .option('--out <dir>', 'where to write', HISTORIES_DIR)
    .action(async (captures: string[], opts: { address?: string; namespace?: string; out: string }) => {
      const specs = captures.map(parseCaptureSpec);
      const client = await connectClient({ address: opts.address, namespace: opts.namespace });
      try {
        await captureHistories(client, specs, opts.out);
      } finally {
        await client.connection.close();
      }
    });
  program.parseAsync(process.argv).catch((err: unknown) => {
    process.stderr.write(`capture-histories: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
