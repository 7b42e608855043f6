/** The `search attributes` check: the Sv0* search attributes registered with the right types. */
import type { Connection } from '@temporalio/client';
import { registerCommand, searchAttributeStatus } from '../search-attributes';
import { message, timeout, type CheckResult } from './check';

/** On the `temporal` check's connection, once the namespace is known to exist. */
export async function checkSearchAttributes(
  connection: Connection,
  namespace: string,
  ms: number,
): Promise<CheckResult> {
  const name = 'search attributes';
  try {
    const sa = await timeout(ms, 'Temporal', searchAttributeStatus(connection, namespace));
    if (sa.missing.length === 0 && sa.wrongType.length === 0) {
      return { name, status: 'ok', detail: `${sa.present.length} registered: ${sa.present.join(', ')}` };
    }
    const problems = [
      ...(sa.missing.length ? [`missing ${sa.missing.join(', ')}`] : []),
      ...sa.wrongType.map((w) => `${w.name} is ${w.actual}, needs ${w.expected}`),
    ];
    const fix = sa.wrongType.length
      ? `a search attribute's type cannot change: remove ${sa.wrongType.map((w) => w.name).join(', ')} (\`temporal operator search-attribute remove\`) and run \`sv0 up\``
      : `run \`sv0 up\` (registers them where the server allows), or: ${sa.missing.map((n) => registerCommand(n, namespace)).join('; ')}; on Temporal Cloud add them in the namespace's settings or with \`tcld namespace search-attributes add\``;
    return { name, status: 'fail', detail: problems.join('; '), fix };
  } catch (err) {
    return {
      name,
      status: 'warn',
      detail: `cannot list them here: ${message(err)}`,
      fix: 'Temporal Cloud lists them in the namespace settings; check that Sv0* attributes are there',
    };
  }
}
