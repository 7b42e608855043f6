/**
 * The Temporal Web UI as operators use it: the dev server's UI (the one `npm run dev` serves) opened
 * in Debian's chromium through playwright-core. A real demo (demoLifecycleWorkflow, deployed into a
 * sandbox account in moto) is found by a visibility query on its scenario attribute, its expiry
 * read from its search attributes, and a screenshot saved under test-results/.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyDemo, startDemo } from '../../clients/demo/lifecycle';
import { DemoSearchAttributes } from '../../lib/contracts/demo';
import { WorkflowTypes } from '../../lib/names';
import { freePort, startDevServer, type DevServer } from '../../scripts/local-stack';
import { stack } from '../harness/stack';
import { uniqueId, workflowBundle } from '../harness/temporal';
import { startWebhookReceiver } from '../harness/webhook';
import {
  demoInput,
  demoTestActivities,
  eventually,
  setUpDemoOrg,
  type DemoOrg,
} from '../harness/demo-fixture';

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

/** Reload `page` until `text` shows up: the UI reads visibility once per load. */
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
  let env: TestWorkflowEnvironment;
  let webhook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let org: DemoOrg;
  let browser: Browser;
  let uiPort: number;

  beforeAll(async () => {
    const { tools } = stack();
    if (!tools.chromium)
      throw new Error('no chromium: run `bash scripts/stack.sh provision` (it installs Debian chromium)');
    uiPort = await freePort();
    server = await startDevServer(tools, { uiPort });
    env = await TestWorkflowEnvironment.createFromExistingServer({
      address: server.address,
      namespace: server.namespace,
    });
    webhook = await startWebhookReceiver();
    org = await setUpDemoOrg();
    browser = await chromium.launch({ executablePath: tools.chromium, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await webhook?.close();
    await env?.teardown();
    await server?.stop();
  });

  it('finds a running demo by its scenario attribute and reads its expiry', async () => {
    const taskQueue = uniqueId('web-ui');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      namespace: server.namespace,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: demoTestActivities(env, webhook),
    });
    const demoId = uniqueId('ui');
    const otherId = uniqueId('ui-other');

    await worker.runUntil(async () => {
      const demo = await startDemo(env.client, demoInput(org, { id: demoId, ttlMs: 2 * 3600_000 }), {
        taskQueue,
      });
      const other = await startDemo(
        env.client,
        demoInput(org, { id: otherId, scenario: 'bedrock-support-agent', ttlMs: 4 * 3600_000 }),
        { taskQueue },
      );
      try {
        // Deployed: the demo marks itself running (its stack completes at once in moto).
        const described = await eventually(async () => {
          const d = await demo.describe();
          return d.typedSearchAttributes.get(DemoSearchAttributes.phase) === 'running' && d;
        }, 'the demo reaches running');
        const expiresAt = described.typedSearchAttributes.get(DemoSearchAttributes.expiresAt);
        expect(expiresAt).toBeInstanceOf(Date);

        const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
        const query = encodeURIComponent(
          'Sv0DemoScenario="cross-account-trust" AND ExecutionStatus="Running"',
        );
        await page.goto(`http://127.0.0.1:${uiPort}/namespaces/${server.namespace}/workflows?query=${query}`);
        await reloadUntilVisible(page, demo.workflowId);
        // The query selects by scenario: the other demo is running too, but not listed.
        expect(await page.getByText(other.workflowId, { exact: true }).count()).toBe(0);
        const row = page.getByRole('row').filter({ hasText: demo.workflowId });
        expect(await row.innerText()).toMatch(/Running/);
        expect(await row.innerText()).toContain(WorkflowTypes.demoLifecycle);

        await page.getByRole('link', { name: demo.workflowId, exact: true }).first().click();
        await page.waitForURL(new RegExp(`/workflows/${demo.workflowId}/`));
        await page.getByRole('tab', { name: 'Search Attributes' }).click();
        await page.waitForURL(/\/search-attributes$/);
        const code = page.locator('.cm-content').filter({ hasText: 'Sv0ExpiresAt' }).first();
        await code.waitFor();
        const shown = JSON.parse(await code.innerText()) as { indexedFields: Record<string, unknown> };
        expect(shown.indexedFields.Sv0DemoScenario).toBe('cross-account-trust');
        expect(shown.indexedFields.Sv0Phase).toBe('running');
        expect(new Date(String(shown.indexedFields.Sv0ExpiresAt)).toISOString()).toBe(
          expiresAt!.toISOString(),
        );

        mkdirSync(RESULTS, { recursive: true });
        await page.screenshot({ path: path.join(RESULTS, 'web-ui-demo.png'), fullPage: true });
        await page.close();
      } finally {
        await destroyDemo(env.client, demoId, 'web UI test done');
        await destroyDemo(env.client, otherId, 'web UI test done');
        await Promise.allSettled([demo.result(), other.result()]);
      }
    });
  });
});
