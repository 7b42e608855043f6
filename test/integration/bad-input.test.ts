import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../clients/cli';
import { motoEnv } from '../harness/aws';
import { eventually } from '../harness/demo-fixture';
import { stack } from '../harness/stack';
import { uniqueId } from '../harness/temporal';

/**
 * Bad input, table-driven, through the real `sv0` entry point against the real dev server: each
 * malformed file or argument must end with exit code 2 and a message that names the file or
 * argument and the reason, and must change nothing: no workflow started, no schedule created,
 * not one request to the AWS endpoint.
 */

const REPO_CONFIG = path.resolve(__dirname, '../../config');

interface Case {
  name: string;
  /** Edit one config file: [file under config/, text to find, replacement]. */
  edit?: [string, string | RegExp, string];
  /** Replace a whole config file. */
  write?: [string, string];
  argv: string[];
  /** What the message must say: the file or argument, and the reason. */
  message: RegExp[];
}

const cases: Case[] = [
  // org.yaml
  {
    name: 'org.yaml: YAML syntax error',
    write: ['org.yaml', 'accounts: [\n'],
    argv: ['org', 'plan'],
    message: [/org\.yaml/, /YAML syntax/i],
  },
  {
    name: 'org.yaml: duplicate key',
    edit: ['org.yaml', 'organizationalUnits:', 'accounts: []\norganizationalUnits:'],
    argv: ['org', 'plan'],
    message: [/org\.yaml/, /duplicate|unique/i],
  },
  {
    name: 'org.yaml: invalid email',
    edit: ['org.yaml', 'aws-sv0-demo@example.com', 'not-an-email'],
    argv: ['org', 'plan'],
    message: [/org\.yaml/, /accounts\[1\]\.email/, /email/i],
  },
  {
    name: 'org.yaml: account in an undeclared OU',
    edit: ['org.yaml', 'ou: Sandbox', 'ou: Sandbocks'],
    argv: ['org', 'plan'],
    message: [/org\.yaml/, /Sandbocks/],
  },
  {
    name: 'org.yaml: misspelt field',
    edit: ['org.yaml', 'organizationalUnits:', 'organisationalUnits:'],
    argv: ['org', 'plan'],
    message: [/org\.yaml/, /organisationalUnits|unrecognized|unknown/i],
  },
  {
    name: 'org.yaml: sandbox not a boolean',
    edit: ['org.yaml', 'sandbox: true', 'sandbox: "yes"'],
    argv: ['org', 'plan'],
    message: [/org\.yaml/, /sandbox/, /boolean/i],
  },
  { name: 'org.yaml: missing', write: ['org.yaml', ''], argv: ['org', 'plan'], message: [/org\.yaml/] },
  {
    name: 'org.yaml: sv0:ttl tag in words',
    edit: ['org.yaml', 'sv0:ttl: 24h', 'sv0:ttl: 1 day'],
    argv: ['org', 'plan'],
    message: [/org\.yaml/, /accounts\[1\]\.tags\.sv0:ttl/, /1 day/, /not a TTL/],
  },
  {
    name: 'org.yaml: sv0:ephemeral tag not true or false',
    edit: ['org.yaml', "sv0:ephemeral: 'true'", 'sv0:ephemeral: maybe'],
    argv: ['org', 'plan'],
    message: [/org\.yaml/, /sv0:ephemeral/, /true or false/],
  },
  {
    name: 'org.yaml: two accounts with one name',
    edit: ['org.yaml', '- name: sv0-security-tooling', '- name: sv0-demo'],
    argv: ['org', 'plan'],
    message: [/org\.yaml/, /sv0-demo/],
  },
  // connectors.yaml
  {
    name: 'connectors.yaml: bad default timeout',
    edit: ['connectors.yaml', 'timeout: 5m', 'timeout: 5'],
    argv: ['connectors', 'apply', '--yes'],
    message: [/connectors\.yaml/, /timeout/],
  },
  {
    name: 'connectors.yaml: interval in words',
    edit: ['connectors.yaml', 'interval: 30m', 'interval: 30 minutes'],
    argv: ['connectors', 'apply', '--yes'],
    message: [/connectors\.yaml/, /connectors\[0\]\.interval/, /duration/],
  },
  {
    name: 'connectors.yaml: interval with a unit that does not exist',
    edit: ['connectors.yaml', 'interval: 60m', 'interval: 60x'],
    argv: ['connectors', 'apply', '--yes'],
    message: [/connectors\.yaml/, /connectors\[1\]\.interval/, /duration/],
  },
  {
    name: 'connectors.yaml: memory not a number',
    edit: ['connectors.yaml', 'memoryMb: 256', 'memoryMb: lots'],
    argv: ['connectors', 'apply', '--yes'],
    message: [/connectors\.yaml/, /memoryMb/],
  },
  {
    name: 'connectors.yaml: malformed op:// reference',
    edit: ['connectors.yaml', 'op://sv0-connectors/ghcr-pull/token', 'op://sv0-connectors'],
    argv: ['connectors', 'apply', '--yes'],
    message: [/connectors\.yaml/, /passwordRef|op:\/\//],
  },
  {
    name: 'connectors.yaml: a role chain the worker does not define',
    edit: ['connectors.yaml', 'roleChain: aws-connector', 'roleChain: admin-everywhere'],
    argv: ['connectors', 'apply', '--yes'],
    message: [/connectors\.yaml/, /connector aws/, /admin-everywhere/, /secrets\.roleChains in worker\.yaml/],
  },
  {
    name: 'connectors.yaml: AWS keys beside a role chain',
    edit: ['connectors.yaml', 'AWS_REGION: us-east-1', 'AWS_ACCESS_KEY_ID: AKIAEXAMPLE'],
    argv: ['connectors', 'apply', '--yes'],
    message: [/connectors\.yaml/, /environment\.AWS_ACCESS_KEY_ID/, /role chain aws-connector/],
  },
  {
    name: 'connectors.yaml: op:// reference with a value-looking scheme',
    edit: ['connectors.yaml', 'op://sv0-connectors/platform-api/token', 'hunter2-plain-token'],
    argv: ['connectors', 'apply', '--yes'],
    message: [/connectors\.yaml/, /tokenRef/],
  },
  {
    name: 'connectors.yaml: unknown secret type',
    edit: ['connectors.yaml', /\n( +)- type: sops/, '\n$1- type: vault'],
    argv: ['connectors', 'apply', '--yes'],
    message: [/connectors\.yaml/, /type/],
  },
  {
    name: 'connectors.yaml: duplicate connector names',
    edit: ['connectors.yaml', '- name: azure-foundry', '- name: entra-servicenow'],
    argv: ['connectors', 'apply', '--yes'],
    message: [/connectors\.yaml/, /entra-servicenow/],
  },
  {
    name: 'connectors.yaml: bad connector name',
    edit: ['connectors.yaml', '- name: azure-foundry', '- name: Azure Foundry!'],
    argv: ['connectors', 'apply', '--yes'],
    message: [/connectors\.yaml/, /name/],
  },
  {
    name: 'connectors.yaml: empty image',
    edit: ['connectors.yaml', 'image: ghcr.io/securityv0/connector-azure-foundry:latest', 'image: ""'],
    argv: ['connectors', 'apply', '--yes'],
    message: [/connectors\.yaml/, /image/],
  },
  {
    name: 'connectors.yaml: unknown field',
    edit: ['connectors.yaml', 'healthCheckEvery: 5m', 'healthCheckEvery: 5m\nhealthcheck: yes'],
    argv: ['connectors', 'apply', '--yes'],
    message: [/connectors\.yaml/, /healthcheck/],
  },
  {
    name: 'connectors.yaml: platform url not a URL',
    edit: ['connectors.yaml', 'url: http://api:3000', 'url: not a url'],
    argv: ['connectors', 'apply', '--yes'],
    message: [/connectors\.yaml/, /url/],
  },
  {
    name: 'connectors.yaml: sops format unknown',
    edit: ['connectors.yaml', /\n( +)format: dotenv/, '\n$1format: toml'],
    argv: ['connectors', 'apply', '--yes'],
    message: [/connectors\.yaml/, /format/],
  },
  // worker.yaml
  {
    name: 'worker.yaml: the old secrets.assumeRoles',
    edit: ['worker.yaml', '  roleChains:', '  assumeRoles:'],
    argv: ['connectors', 'apply', '--yes'],
    message: [/worker\.yaml/, /secrets\.assumeRoles: now named secrets\.roleChains/],
  },
  // budgets.yaml
  {
    name: 'budgets.yaml: freezeAt on a non-sandbox account',
    edit: ['budgets.yaml', 'amount: 300', 'amount: 300\n    freezeAt: 100'],
    argv: ['up'],
    message: [/budgets\.yaml/, /freezeAt/, /sandbox/],
  },
  {
    name: 'budgets.yaml: negative amount',
    edit: ['budgets.yaml', 'amount: 500', 'amount: -5'],
    argv: ['up'],
    message: [/budgets\.yaml/, /amount/],
  },
  {
    name: 'budgets.yaml: unknown account',
    edit: ['budgets.yaml', 'account: sv0-platform', 'account: sv0-nowhere'],
    argv: ['up'],
    message: [/budgets\.yaml/, /sv0-nowhere/],
  },
  {
    name: 'budgets.yaml: threshold over 1000',
    edit: ['budgets.yaml', 'notify: [50, 80, 100]', 'notify: [50, 80, 100000]'],
    argv: ['up'],
    message: [/budgets\.yaml/, /notify/],
  },
  {
    name: 'budgets.yaml: bad check interval',
    edit: ['budgets.yaml', 'checkInterval: 1h', 'checkInterval: hourly'],
    argv: ['up'],
    message: [/budgets\.yaml/, /checkInterval/],
  },
  {
    name: 'budgets.yaml: subscriber not an email',
    edit: ['budgets.yaml', 'subscribers: [billing@example.com]', 'subscribers: [billing]'],
    argv: ['up'],
    message: [/budgets\.yaml/, /subscribers/],
  },
  // notifications.yaml
  {
    name: 'notifications.yaml: unknown sink type',
    write: ['notifications.yaml', 'sinks:\n  - type: pager\n'],
    argv: ['up'],
    message: [/notifications\.yaml/, /type/],
  },
  {
    name: 'notifications.yaml: webhook with a literal URL instead of a reference',
    write: [
      'notifications.yaml',
      'sinks:\n  - type: webhook\n    urlRef: https://hooks.example.com/T000/B000/secret\n',
    ],
    argv: ['up'],
    message: [/notifications\.yaml/, /urlRef/],
  },
  // scenarios
  {
    name: 'scenario: default TTL in words',
    edit: ['scenarios/cross-account-trust.yaml', 'defaultTtl: 4h', 'defaultTtl: 4 hours'],
    argv: ['demo', 'start', 'cross-account-trust'],
    message: [/cross-account-trust\.yaml/, /defaultTtl/],
  },
  {
    name: 'scenario: default TTL above the maximum',
    edit: ['scenarios/cross-account-trust.yaml', 'defaultTtl: 4h', 'defaultTtl: 48h'],
    argv: ['demo', 'start', 'cross-account-trust'],
    message: [/cross-account-trust\.yaml/, /defaultTtl|maxTtl/],
  },
  {
    name: 'scenario: app missing',
    edit: [
      'scenarios/cross-account-trust.yaml',
      'app: cross-account-trust/app.ts',
      'app: cross-account-trust/nope.ts',
    ],
    argv: ['demo', 'start', 'cross-account-trust'],
    message: [/cross-account-trust\.yaml/, /app file .*nope\.ts not found/],
  },
  {
    name: 'scenario: app does not synthesize',
    edit: [
      'scenarios/cross-account-trust/app.ts',
      "roleName: 'SecurityV0-ReadOnly',",
      "roleName: 'SecurityV0-ReadOnly', maxSessionDuration: Duration.minutes(5),",
    ],
    argv: ['demo', 'start', 'cross-account-trust'],
    message: [/cross-account-trust\/app\.ts does not synthesize/, /maxSessionDuration/],
  },
  {
    name: 'scenario: template missing',
    edit: [
      'scenarios/bedrock-support-agent.yaml',
      'app: bedrock-support-agent/app.ts',
      'template: templates/nope.yaml',
    ],
    argv: ['demo', 'start', 'bedrock-support-agent'],
    message: [/nope\.yaml|template/],
  },
  // CLI arguments and durations
  {
    name: '--ttl with a unit that does not exist',
    argv: ['demo', 'start', 'cross-account-trust', '--ttl', '5x'],
    message: [/--ttl|ttl/, /5x/],
  },
  {
    name: '--ttl with a fraction',
    argv: ['demo', 'start', 'cross-account-trust', '--ttl', '1.5h'],
    message: [/ttl/, /1\.5h/],
  },
  {
    name: '--ttl above the scenario maximum',
    argv: ['demo', 'start', 'cross-account-trust', '--ttl', '30d'],
    message: [/ttl|maximum|maxTtl/i],
  },
  {
    name: '--warn-before longer than half the TTL',
    argv: ['demo', 'start', 'cross-account-trust', '--ttl', '1h', '--warn-before', '45m'],
    message: [/--warn-before/, /45m/, /half the TTL/],
  },
  {
    name: '--id with capitals',
    argv: ['demo', 'start', 'cross-account-trust', '--id', 'Demo_1'],
    message: [/--id|id/, /Demo_1|\[a-z0-9-\]/],
  },
  { name: 'unknown scenario', argv: ['demo', 'start', 'no-such-scenario'], message: [/no-such-scenario/] },
  {
    name: 'demo extend with a negative duration',
    argv: ['demo', 'extend', 'some-demo', '-1h'],
    message: [/-1h|duration|unknown option/i],
  },
  {
    name: 'demo extend with a bare number',
    argv: ['demo', 'extend', 'some-demo', '12'],
    message: [/12/, /duration|s\|m\|h\|d/],
  },
  {
    name: 'connectors run: unknown connector',
    argv: ['connectors', 'run', 'no-such-connector'],
    message: [/no-such-connector/],
  },
  {
    name: 'budget unfreeze: unknown budget',
    argv: ['budget', 'unfreeze', 'no-such-budget', '--by', 'alice', '--reason', 'test'],
    message: [/no-such-budget/],
  },
  {
    name: 'doctor --timeout not a number',
    argv: ['doctor', '--timeout', 'soon'],
    message: [/--timeout: "soon" is not a number of seconds/],
  },
  {
    name: 'doctor --timeout zero',
    argv: ['doctor', '--timeout', '0'],
    message: [/--timeout: "0" is not above 0/],
  },
  {
    name: 'doctor --timeout negative',
    argv: ['doctor', '--timeout', '-5'],
    message: [/--timeout: "-5" is not above 0/],
  },
  {
    name: 'doctor --timeout with a unit',
    argv: ['doctor', '--timeout', '30s'],
    message: [/--timeout: "30s" is not a number of seconds/],
  },
  { name: 'unknown option', argv: ['sweep', 'run', '--older-then', '12h'], message: [/--older-then/] },
  { name: 'missing argument', argv: ['demo', 'start'], message: [/scenario/] },
];

describe('bad input is refused before anything changes', () => {
  let aws: Server;
  let awsRequests = 0;
  let client: Client;
  let schedulesBefore: Set<string>;
  const since = new Date();
  const namespace = uniqueId('bad-input');
  const savedEnv = { ...process.env };

  async function scheduleIds(): Promise<Set<string>> {
    const ids = new Set<string>();
    for await (const s of client.schedule.list()) ids.add(s.scheduleId);
    return ids;
  }

  beforeAll(async () => {
    // Any AWS call would land here and be counted.
    aws = createServer((_req, res) => {
      awsRequests++;
      res.writeHead(500).end();
    });
    await new Promise<void>((resolve) => aws.listen(0, '127.0.0.1', resolve));
    // A namespace of this file's own: a workflow that another file left behind (a guard that
    // continues as new, a schedule firing) can start in the shared one while these cases run.
    const connection = await Connection.connect({ address: stack().temporalAddress });
    await connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs('1 day'),
    });
    client = new Client({ connection, namespace });
    await eventually(
      async () => (await connection.workflowService.describeNamespace({ namespace })).namespaceInfo,
      'the namespace of this file described',
    );
    Object.assign(process.env, {
      TEMPORAL_ADDRESS: stack().temporalAddress,
      TEMPORAL_NAMESPACE: namespace,
      ...motoEnv(`http://127.0.0.1:${(aws.address() as AddressInfo).port}`),
    });
    delete process.env.SV0_CONFIG_DIR;
    schedulesBefore = await scheduleIds();
  });

  afterAll(async () => {
    process.env = savedEnv;
    await client?.connection.close();
    await new Promise((resolve) => aws?.close(resolve));
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sv0-bad-input-'));
    cpSync(REPO_CONFIG, dir, { recursive: true });
    if (c.edit) {
      const [file, find, replace] = c.edit;
      const full = path.join(dir, file);
      const before = readFileSync(full, 'utf8');
      const after = before.replace(find, replace);
      expect(after, `the edit of ${file} must change it`).not.toBe(before);
      writeFileSync(full, after);
    }
    if (c.write) {
      if (c.write[1] === '') rmSync(path.join(dir, c.write[0]));
      else writeFileSync(path.join(dir, c.write[0]), c.write[1]);
    }
    let stderr = '';
    const errSpy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += chunk.toString();
      return true;
    });
    const outSpy = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    let code: number;
    try {
      code = await main(['node', 'sv0', '--config-dir', dir, ...c.argv]);
    } finally {
      errSpy.mockRestore();
      outSpy.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
    expect({ code, stderr }).toMatchObject({ code: 2 });
    for (const pattern of c.message) expect(stderr).toMatch(pattern);
  });

  it(`has at least 40 cases (${cases.length})`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  it('changed nothing: no workflow started, no schedule created, no AWS request', async () => {
    const started: string[] = [];
    for await (const wf of client.workflow.list({ query: `StartTime >= "${since.toISOString()}"` })) {
      started.push(`${wf.type} ${wf.workflowId}`);
    }
    expect(started).toEqual([]);
    const created = [...(await scheduleIds())].filter((id) => !schedulesBefore.has(id));
    expect(created).toEqual([]);
    expect(awsRequests).toBe(0);
  });
});
