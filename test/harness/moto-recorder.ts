import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { stack } from './stack';

/** One AWS call as the recorder saw it: the service's operation name, and whether it reads only. */
export interface RecordedAwsCall {
  operation: string;
  readOnly: boolean;
  /** The request's body (a query API's form parameters) and moto's answer, as text. */
  body: string;
  response?: string;
}

/** Operations that change nothing: the read verbs of every AWS API, and the caller's identity. */
const READ_ONLY =
  /^(Describe|List|Get|Head|Search|Lookup|Check|Validate|Estimate|Preview|Simulate)|^GetCallerIdentity$|^AssumeRole/;

/** The operation of a request: JSON APIs name it in X-Amz-Target, query APIs in `Action=`, REST APIs by method. */
function operationOf(method: string, url: string, headers: Record<string, unknown>, body: string): string {
  const target = headers['x-amz-target'];
  if (typeof target === 'string') return target.split('.').pop() ?? target;
  const action = /(?:^|[?&])Action=([A-Za-z]+)/.exec(`${url}&${body}`)?.[1];
  if (action) return action;
  return method === 'GET' || method === 'HEAD'
    ? `Get ${url.split('?')[0]}`
    : `${method} ${url.split('?')[0]}`;
}

/**
 * A recording proxy in front of the stack's moto: every request is forwarded unchanged and its
 * operation, body and answer recorded, so a test can assert that no AWS call that changes anything
 * was made, or read what moto answered a call.
 * Point the code under test's AWS endpoint at `url`.
 */
export async function startMotoRecorder(target = stack().motoEndpoint) {
  const calls: RecordedAwsCall[] = [];
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation = operationOf(req.method ?? 'GET', req.url ?? '/', req.headers, body.toString('utf8'));
      const call: RecordedAwsCall = {
        operation,
        readOnly: READ_ONLY.test(operation) || (operation.startsWith('Get ') && req.method !== 'POST'),
        body: body.toString('utf8'),
      };
      calls.push(call);
      const forward = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          const parts: Buffer[] = [];
          answer.on('data', (c: Buffer) => parts.push(c));
          answer.on('end', () => (call.response = Buffer.concat(parts).toString('utf8')));
          answer.pipe(res);
        },
      );
      forward.on('error', () => res.writeHead(502).end());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    /** The calls that may have changed something. */
    changes: () => calls.filter((c) => !c.readOnly).map((c) => c.operation),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
