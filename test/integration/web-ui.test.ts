/**
 * The Temporal Web UI as operators use it: the dev server's UI (the one `npm run dev` serves) opened
 * in Debian's chromium through playwright-core. A running demo is found by a visibility query on
 * its scenario attribute, its expiry read from its search attributes, and a screenshot saved under
 * test-results/. The demo is a test-only stand-in workflow (test/fixtures/ui-workflows) that
 * carries the demo's search attributes, so no CloudFormation deploy is needed to have one running.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemoSearchAttributes } from '../../lib/demo';
import { freePort, startDevServer, type DevServer } from '../../scripts/local-stack';
import { uiDemoStandInWorkflow, finishSignal } from '../fixtures/ui-workflows';
import { stack } from '../harness/stack';
import { uniqueId } from '../harness/temporal';

const RESULTS = path.resolve(__dirname, '../../test-results');
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

/** Reload `page` until `locator` text shows up: the UI reads visibility once per load. */
async function reloadUntilVisible(page: Page, text: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await page.getByText(text, { exact: true }).count()) > 0) return;
    if (Date.now() > deadline) throw new Error(`the Web UI never showed ${text} at ${page.url()}`);
    await page.waitForTimeout(1000);
    await page.reload();
    await page.waitForLoadState('networkidle').catch(() => undefined);
  }
}

describe('the Temporal Web UI served by the dev server', () => {
  let server: DevServer;
  let connection: Connection;
  let client: Client;
  let browser: Browser;
  let uiPort: number;

  beforeAll(async () => {
    const { tools } = stack();
    if (!tools.chromium)
      throw new Error('no chromium: run `bash scripts/stack.sh provision` (it installs Debian chromium)');
    uiPort = await freePort();
    server = await startDevServer(tools, { uiPort });
    connection = await Connection.connect({ address: server.address });
    client = new Client({ connection, namespace: server.namespace });
    browser = await chromium.launch({ executablePath: tools.chromium, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await connection?.close();
    await server?.stop();
  });

  it('finds a running demo by its scenario attribute and reads its expiry', async () => {
    const taskQueue = uniqueId('web-ui');
    const nativeConnection = await NativeConnection.connect({ address: server.address });
    const worker = await Worker.create({
      connection: nativeConnection,
      namespace: server.namespace,
      taskQueue,
      workflowBundle: await bundleWorkflowCode({
        workflowsPath: path.resolve(__dirname, '../fixtures/ui-workflows/index.ts'),
        logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
      }),
    });
    // Whole seconds: the UI shows what the server stored, and Datetime attributes keep milliseconds.
    const expiresAt = new Date(Math.ceil(Date.now() / 1000) * 1000 + 2 * 3600_000);
    const demoId = uniqueId('demo-ui');
    const otherId = uniqueId('demo-ui-other');
    const start = (workflowId: string, scenario: string) =>
      client.workflow.start(uiDemoStandInWorkflow, {
        taskQueue,
        workflowId,
        args: [{ expiresAt: expiresAt.toISOString() }],
        typedSearchAttributes: [
          { key: DemoSearchAttributes.scenario, value: scenario },
          { key: DemoSearchAttributes.owner, value: 'web-ui-test' },
          { key: DemoSearchAttributes.expiresAt, value: expiresAt },
        ],
      });

    await worker.runUntil(async () => {
      const demo = await start(demoId, 'cross-account-trust');
      const other = await start(otherId, 'bedrock-support-agent');
      try {
        // The stand-in marks itself running in its first workflow task, as the demo workflow does.
        for (
          let d = await demo.describe();
          !d.typedSearchAttributes.get(DemoSearchAttributes.phase);
          d = await demo.describe()
        ) {
          await new Promise((r) => setTimeout(r, 200));
        }
        const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
        const query = encodeURIComponent(
          'Sv0DemoScenario="cross-account-trust" AND ExecutionStatus="Running"',
        );
        await page.goto(`http://127.0.0.1:${uiPort}/namespaces/${server.namespace}/workflows?query=${query}`);
        await reloadUntilVisible(page, demoId);
        // The query selects by scenario: the other demo is running too, but not listed.
        expect(await page.getByText(otherId, { exact: true }).count()).toBe(0);
        const row = page.getByRole('row').filter({ hasText: demoId });
        expect(await row.innerText()).toMatch(/Running/);
        expect(await row.innerText()).toContain('uiDemoStandInWorkflow');

        await page.getByRole('link', { name: demoId, exact: true }).first().click();
        await page.waitForURL(new RegExp(`/workflows/${demoId}/`));
        await page.getByRole('tab', { name: 'Search Attributes' }).click();
        await page.waitForURL(/\/search-attributes$/);
        const code = page.locator('.cm-content').filter({ hasText: 'Sv0ExpiresAt' }).first();
        await code.waitFor();
        const shown = JSON.parse(await code.innerText()) as { indexedFields: Record<string, unknown> };
        expect(shown.indexedFields.Sv0DemoScenario).toBe('cross-account-trust');
        expect(shown.indexedFields.Sv0Phase).toBe('running');
        expect(new Date(String(shown.indexedFields.Sv0ExpiresAt)).toISOString()).toBe(
          expiresAt.toISOString(),
        );

        mkdirSync(RESULTS, { recursive: true });
        await page.screenshot({ path: path.join(RESULTS, 'web-ui-demo.png'), fullPage: true });
        await page.close();
      } finally {
        await demo.signal(finishSignal);
        await other.signal(finishSignal);
        await Promise.all([demo.result(), other.result()]);
      }
    });
    await nativeConnection.close();
  });
});
