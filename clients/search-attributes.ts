import type { Client, ConnectionLike } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { SEARCH_ATTRIBUTE_TYPES } from '../lib/names';
import { errorMessage, grpcCode } from './errors';
import type { UpStep } from './up-step';

/** How the server's search attributes compare with the ones the project needs (lib/names.ts). */
export interface SearchAttributeStatus {
  /** Registered with the expected type. */
  present: string[];
  /** Not registered at all. */
  missing: string[];
  /** Registered with another type: the Web UI and queries would misbehave; re-registering cannot fix it. */
  wrongType: { name: string; expected: string; actual: string }[];
}

function expectedType(name: keyof typeof SEARCH_ATTRIBUTE_TYPES): number {
  const type = SEARCH_ATTRIBUTE_TYPES[name];
  return encodeSearchAttributeIndexedValueType(type === 'Keyword' ? 'KEYWORD' : 'DATETIME') ?? 0;
}

const TYPE_NAMES: Record<number, string> = {
  1: 'Text',
  2: 'Keyword',
  3: 'Int',
  4: 'Double',
  5: 'Bool',
  6: 'Datetime',
  7: 'KeywordList',
};

/** Compare the namespace's custom search attributes with the project's (OperatorService.ListSearchAttributes). */
export async function searchAttributeStatus(
  connection: ConnectionLike,
  namespace: string,
): Promise<SearchAttributeStatus> {
  const res = await connection.operatorService.listSearchAttributes({ namespace });
  const custom = res.customAttributes ?? {};
  const status: SearchAttributeStatus = { present: [], missing: [], wrongType: [] };
  for (const name of Object.keys(SEARCH_ATTRIBUTE_TYPES) as (keyof typeof SEARCH_ATTRIBUTE_TYPES)[]) {
    const actual = custom[name];
    if (actual === undefined || actual === null) status.missing.push(name);
    else if (Number(actual) !== expectedType(name)) {
      status.wrongType.push({
        name,
        expected: SEARCH_ATTRIBUTE_TYPES[name],
        actual: TYPE_NAMES[Number(actual)] ?? String(actual),
      });
    } else status.present.push(name);
  }
  return status;
}

/**
 * Register the project's missing search attributes where the server allows it (a dev server or a
 * self-hosted cluster; Temporal Cloud refuses OperatorService calls and takes them through its own
 * console or `tcld`). Returns the names it added; throws the server's error when it refuses.
 */
export async function ensureSearchAttributes(
  connection: ConnectionLike,
  namespace: string,
): Promise<string[]> {
  const { missing } = await searchAttributeStatus(connection, namespace);
  if (missing.length === 0) return [];
  const searchAttributes: Record<string, number> = {};
  for (const name of missing)
    searchAttributes[name] = expectedType(name as keyof typeof SEARCH_ATTRIBUTE_TYPES);
  await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
  return missing;
}

/** The `temporal` CLI command that registers one attribute: the fix doctor prints. */
export function registerCommand(name: string, namespace: string): string {
  const type = SEARCH_ATTRIBUTE_TYPES[name as keyof typeof SEARCH_ATTRIBUTE_TYPES] ?? 'Keyword';
  return `temporal operator search-attribute create --namespace ${namespace} --name ${name} --type ${type}`;
}

/**
 * A visibility query that names every project attribute. A server accepts it only once it uses
 * them all, so it tells when attributes just registered are usable.
 */
function queryNamingEvery(): string {
  return (Object.keys(SEARCH_ATTRIBUTE_TYPES) as (keyof typeof SEARCH_ATTRIBUTE_TYPES)[])
    .map((name) =>
      SEARCH_ATTRIBUTE_TYPES[name] === 'Datetime' ? `${name} > '1970-01-01T00:00:00Z'` : `${name} = ''`,
    )
    .join(' OR ');
}

/** 3 INVALID_ARGUMENT: how a server answers a query, start or schedule naming an attribute it does not use yet. */
const INVALID_ARGUMENT = 3;

/**
 * Wait until the namespace uses every project attribute. A server takes attributes it has just
 * registered into use only when its services reload the namespace: until then (a few seconds on a
 * PostgreSQL-backed server) a start, signal-with-start or schedule that sets one fails with "no
 * mapping defined for search attribute". Asks once a second, says every few seconds that it
 * waits, and gives up after `timeoutMs` with the server's answer. Resolves with the time waited.
 */
export async function waitUntilSearchAttributesUsable(
  client: Client,
  namespace: string,
  opts: { timeoutMs?: number; log?: (text: string) => void } = {},
): Promise<number> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const started = Date.now();
  let reported = started;
  for (;;) {
    try {
      await client.workflowService.listWorkflowExecutions({
        namespace,
        query: queryNamingEvery(),
        pageSize: 1,
      });
      return Date.now() - started;
    } catch (err) {
      if (grpcCode(err) !== INVALID_ARGUMENT) throw err;
      const waited = Date.now() - started;
      if (waited > timeoutMs)
        throw new Error(
          `the server registered the search attributes but does not use them after ${Math.round(waited / 1000)}s: ${errorMessage(err)}`,
        );
      if (Date.now() - reported >= 5000) {
        reported = Date.now();
        opts.log?.(
          `  ...   search attributes: waiting for the server to use them (${Math.round(waited / 1000)}s)`,
        );
      }
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** The server's reason when it refuses to register, and what to do about SQL visibility's limit. */
function registrationError(err: unknown, missing: string[]): Error {
  const why = errorMessage(err);
  if (/cannot have more than \d+ search attribute/i.test(why))
    return new Error(
      `the server's SQL visibility store refused ${missing.join(', ')} (${why}): PostgreSQL, MySQL and SQLite visibility allow only a few custom attributes of each type per namespace; remove ones nothing uses any more (\`temporal operator search-attribute remove\`) or use a namespace of its own`,
    );
  return new Error(
    `cannot register ${missing.join(', ')} on this server (${why}); ` +
      'on Temporal Cloud add them in the namespace settings or with `tcld namespace search-attributes add`',
  );
}

/**
 * Register the project's search attributes where the server allows it (not on Temporal Cloud),
 * then wait until the server uses them: the steps after this one set them.
 */
export const searchAttributesUpStep: UpStep = {
  name: 'search attributes',
  async run(ctx) {
    const connection = ctx.client.connection;
    let added: string[];
    try {
      added = await ensureSearchAttributes(connection, ctx.namespace);
    } catch (err) {
      const { missing } = await searchAttributeStatus(connection, ctx.namespace).catch(() => ({
        missing: ['?'],
      }));
      throw registrationError(err, missing);
    }
    const { wrongType } = await searchAttributeStatus(connection, ctx.namespace);
    if (wrongType.length > 0) {
      throw new Error(
        `registered with the wrong type: ${wrongType.map((w) => `${w.name} is ${w.actual}, needs ${w.expected}`).join('; ')}`,
      );
    }
    const waited = await waitUntilSearchAttributesUsable(ctx.client, ctx.namespace, { log: ctx.log });
    const inUse = waited >= 1000 ? `; in use after ${Math.round(waited / 1000)}s` : '';
    return added.length > 0
      ? { status: 'created', detail: `registered ${added.join(', ')}${inUse}`, items: added }
      : { status: 'unchanged', detail: `all registered${inUse}` };
  },
};
