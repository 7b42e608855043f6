/**
 * The `temporal` check: the server reachable and the namespace present. Its connection then serves
 * the `search attributes` check, which is skipped when this one fails.
 */
import { Connection } from '@temporalio/client';
import { resolveTemporalOptions, type TemporalOptions } from '../../lib/runtime/temporal';
import { message, timeout, type CheckResult } from './check';
import { checkSearchAttributes } from './search-attributes';

export async function checkTemporal(temporalOptions: TemporalOptions, ms: number): Promise<CheckResult[]> {
  const { connection: opts, namespace } = resolveTemporalOptions(temporalOptions);
  const where = `${opts.address} (namespace ${namespace}${opts.tls || opts.apiKey ? ', TLS' : ''})`;
  let connection: Connection;
  try {
    connection = await timeout(
      ms,
      'Temporal',
      Connection.connect({
        address: opts.address,
        tls: opts.tls,
        apiKey: opts.apiKey,
        metadata: opts.metadata,
        connectTimeout: ms,
      }),
    );
    await timeout(ms, 'Temporal', connection.workflowService.getSystemInfo({}));
  } catch (err) {
    return [
      {
        name: 'temporal',
        status: 'fail',
        unreachable: true,
        detail: `cannot reach ${where}: ${message(err)}`,
        fix: 'start the local stack with `npm run dev`, or point at your server with --address / TEMPORAL_ADDRESS (Temporal Cloud: also TEMPORAL_NAMESPACE and TEMPORAL_API_KEY or --tls-cert-path/--tls-key-path)',
      },
      { name: 'search attributes', status: 'skipped', detail: 'Temporal is not reachable' },
    ];
  }
  try {
    try {
      await timeout(ms, 'Temporal', connection.workflowService.describeNamespace({ namespace }));
    } catch (err) {
      const notFound = /not found|NOT_FOUND/i.test(message(err));
      return [
        {
          name: 'temporal',
          status: 'fail',
          unreachable: !notFound,
          detail: notFound
            ? `${opts.address} is up but has no namespace "${namespace}"`
            : `${where}: ${message(err)}`,
          fix: notFound
            ? `create it: \`temporal operator namespace create --namespace ${namespace}\`, or pass --namespace / TEMPORAL_NAMESPACE`
            : 'check the API key or client certificate, and that the namespace is yours',
        },
        { name: 'search attributes', status: 'skipped', detail: 'no namespace' },
      ];
    }
    const temporal: CheckResult = {
      name: 'temporal',
      status: 'ok',
      detail: `${where} reachable, namespace present`,
    };
    return [temporal, await checkSearchAttributes(connection, namespace, ms)];
  } finally {
    await connection.close().catch(() => undefined);
  }
}
