import type { ConnectionLike } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { SEARCH_ATTRIBUTE_TYPES } from '../lib/names';
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

/** Register the project's search attributes where the server allows it (not on Temporal Cloud). */
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
      throw new Error(
        `cannot register ${missing.join(', ')} on this server (${(err as Error).message.split('\n')[0]}); ` +
          'on Temporal Cloud add them in the namespace settings or with `tcld namespace search-attributes add`',
      );
    }
    const { wrongType } = await searchAttributeStatus(connection, ctx.namespace);
    if (wrongType.length > 0) {
      throw new Error(
        `registered with the wrong type: ${wrongType.map((w) => `${w.name} is ${w.actual}, needs ${w.expected}`).join('; ')}`,
      );
    }
    return added.length > 0
      ? { status: 'created', detail: `registered ${added.join(', ')}`, items: added }
      : { status: 'unchanged', detail: 'all registered' };
  },
};
