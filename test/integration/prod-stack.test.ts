/**
 * The production topology of docker-compose.temporal.yml, started by scripts/prod-stack.ts from the
 * file's own commands and environment: PostgreSQL 15, the schema job, the PostgreSQL-backed Temporal
 * server with deploy/temporal's configuration, the namespace and search-attribute job and the Web UI
 * server. A workflow started there is found by a custom search attribute in SQL visibility, and is
 * still there after the server restarts; both jobs can run again; the UI serves with starting
 * workflows switched off.
 */
import { Client, Connection } from '@temporalio/client';
import { defineSearchAttributeKey } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchAttributeStatus } from '../../clients/search-attributes';
import { SearchAttributes } from '../../lib/names';
import { startProductionStack, type ProductionStack } from '../../scripts/prod-stack';
import { stack } from '../harness/stack';
import { uniqueId } from '../harness/temporal';
import { eventually } from '../harness/demo-fixture';

const connectorKey = defineSearchAttributeKey(SearchAttributes.connector, 'KEYWORD');

describe('the production stack (PostgreSQL-backed Temporal server, run by the compose file)', () => {
  let prod: ProductionStack;
  let connection: Connection;
  let client: Client;

  beforeAll(async () => {
    prod = await startProductionStack({ tools: stack().tools });
    connection = await Connection.connect({ address: prod.address });
    client = new Client({ connection, namespace: prod.namespace });
  });

  afterAll(async () => {
    await connection?.close();
    await prod?.stop();
  });

  it('registers every search attribute of lib/names.ts with its type in the namespace', async () => {
    const status = await searchAttributeStatus(connection, prod.namespace);
    expect(status.missing).toEqual([]);
    expect(status.wrongType).toEqual([]);
    expect(status.present).toHaveLength(7);
  });

  it('finds a workflow by a custom search attribute in SQL visibility, also after a server restart', async () => {
    const connector = uniqueId('prod-stack');
    const handle = await client.workflow.start('noSuchWorkflowType', {
      taskQueue: uniqueId('no-worker'),
      workflowId: connector,
      typedSearchAttributes: [{ key: connectorKey, value: connector }],
    });
    const query = `${SearchAttributes.connector} = "${connector}"`;
    const listed = async () => {
      for await (const wf of client.workflow.list({ query })) if (wf.workflowId === connector) return true;
      return false;
    };
    await eventually(listed, 'the workflow in visibility');

    await connection.close();
    await prod.temporal.stop();
    await prod.temporal.start();
    connection = await Connection.connect({ address: prod.address });
    client = new Client({ connection, namespace: prod.namespace });
    await eventually(listed, 'the workflow in visibility after the restart');
    await client.workflow.getHandle(handle.workflowId).terminate('test done');
  });

  it('runs the schema and namespace jobs again without harm', async () => {
    expect(await prod.runJob('temporal-schema')).toMatch(/schemas are up to date/);
    expect(await prod.runJob('temporal-admin')).toMatch(/namespace and search attributes are ready/);
  });

  it('serves the Web UI with starting workflows switched off', async () => {
    const page = await fetch(`${prod.uiUrl}/`);
    expect(page.status).toBe(200);
    const settings = (await (await fetch(`${prod.uiUrl}/api/v1/settings`)).json()) as Record<string, unknown>;
    expect(settings.StartWorkflowDisabled).toBe(true);
    expect(settings.DefaultNamespace).toBe(prod.namespace);
  });
});
