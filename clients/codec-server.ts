/**
 * The codec server: lets the Temporal Web UI and CLI show decrypted payloads to those who hold
 * its bearer token, without giving them the keys. It speaks Temporal's codec-server protocol:
 * `POST /decode` and `POST /encode` with `{"payloads": [{"metadata": {k: base64}, "data": base64}]}`
 * in and out, and answers CORS preflights for the UI's origin.
 *
 * The token travels in `Authorization: Bearer <token>`: `temporal workflow show --codec-endpoint
 * http://host:port --codec-auth 'Bearer <token>'`. A browser cannot be told to send a static
 * bearer token, so `GET /login?token=<token>` gives it a session cookie instead (HttpOnly,
 * SameSite=Strict); the Web UI sends it when its codec setting "include cross-origin credentials"
 * is on. Bodies are never logged: they hold plaintext.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PayloadCodec } from '@temporalio/common';
import { payloadFromJson, payloadToJson, type JsonPayload } from '../lib/runtime/codec';
import type { Logger } from '../lib/runtime/logger';

/** The Web UI of `temporal server start-dev`. */
export const DEFAULT_UI_ORIGIN = 'http://localhost:8233';
/** Where the codec server listens unless told otherwise. */
export const DEFAULT_CODEC_SERVER_PORT = 8888;
/** A shorter token is refused: the token is the only thing between a browser and plaintext. */
export const MIN_TOKEN_LENGTH = 16;
/** Largest request body accepted (the UI sends a page of payloads at once). */
const MAX_BODY_BYTES = 16 * 1024 * 1024;
/** The browser session cookie `GET /login` sets. */
export const SESSION_COOKIE = 'sv0_codec_session';
/** Headers the Web UI sends: content type, the namespace and, over HTTPS, its access token. */
const ALLOWED_HEADERS = 'authorization, content-type, x-namespace';

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Bearer token every encode/decode request must carry (at least {@link MIN_TOKEN_LENGTH} characters). */
  token: string;
  /** Browser origins allowed to call the server. @default [DEFAULT_UI_ORIGIN] */
  allowedOrigins?: string[];
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default DEFAULT_CODEC_SERVER_PORT */
  port?: number;
  logger?: Logger;
}

export interface RunningCodecServer {
  /** Base URL, e.g. http://127.0.0.1:8888 (what the UI's codec endpoint setting takes). */
  url: string;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Constant-time comparison of a presented token with the expected one. */
function sameToken(presented: string | undefined | null, expected: Buffer): boolean {
  return typeof presented === 'string' && timingSafeEqual(digest(presented.trim()), expected);
}

function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(.+)$/i.exec(header ?? '')?.[1];
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'request body is not JSON');
  }
}

function payloadsOf(body: unknown): JsonPayload[] {
  const payloads = (body as { payloads?: unknown } | null)?.payloads;
  if (!Array.isArray(payloads)) throw new HttpError(400, 'expected {"payloads": [...]}');
  return payloads as JsonPayload[];
}

/**
 * Start the codec server. Refuses to start without a token of at least {@link MIN_TOKEN_LENGTH}
 * characters.
 */
export async function startCodecServer(opts: CodecServerOptions): Promise<RunningCodecServer> {
  if (opts.token.length < MIN_TOKEN_LENGTH) {
    throw new Error(`codec server token must be at least ${MIN_TOKEN_LENGTH} characters`);
  }
  const expected = digest(opts.token);
  // Browser sessions live as long as this process: a restart asks each browser to log in again.
  const sessions = new Set<string>();
  const authorized = (req: IncomingMessage): boolean => {
    if (sameToken(bearerToken(req.headers.authorization), expected)) return true;
    const session = cookieValue(req.headers.cookie, SESSION_COOKIE);
    return session !== undefined && sessions.has(session);
  };
  const origins = new Set(opts.allowedOrigins ?? [DEFAULT_UI_ORIGIN]);
  const { codec, logger } = opts;

  const setCors = (req: IncomingMessage, res: ServerResponse): boolean => {
    const origin = req.headers.origin;
    if (origin === undefined) return true; // not a browser: CORS does not apply
    if (!origins.has(origin)) return false;
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Vary', 'Origin');
    return true;
  };

  const send = (res: ServerResponse, status: number, body?: unknown): void => {
    if (body === undefined) {
      res.writeHead(status).end();
      return;
    }
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    const corsAllowed = setCors(req, res);
    const route = (req.url ?? '').split('?')[0];
    if (req.method === 'OPTIONS') {
      // Preflights carry no credentials by design: answer them without the token.
      if (!corsAllowed) return (send(res, 403, { error: 'origin not allowed' }), 403);
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
      res.setHeader('Access-Control-Max-Age', '600');
      return (send(res, 204), 204);
    }
    if (!corsAllowed) return (send(res, 403, { error: 'origin not allowed' }), 403);
    if (route === '/login' && req.method === 'GET') {
      const token = new URL(req.url ?? '', 'http://codec').searchParams.get('token');
      if (!sameToken(token, expected)) return (send(res, 401, { error: 'missing or wrong token' }), 401);
      const session = randomBytes(32).toString('base64url');
      sessions.add(session);
      res.setHeader('Set-Cookie', `${SESSION_COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/`);
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(
        'This browser may now decode payloads. In the Web UI, set the codec endpoint to this server with "include cross-origin credentials" on.\n',
      );
      return 200;
    }
    if (route !== '/decode' && route !== '/encode') return (send(res, 404, { error: 'not found' }), 404);
    if (req.method !== 'POST') return (send(res, 405, { error: 'use POST' }), 405);
    if (!authorized(req)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      return (send(res, 401, { error: 'missing or wrong bearer token' }), 401);
    }
    const payloads = payloadsOf(await readJson(req)).map(payloadFromJson);
    let result;
    try {
      result = route === '/decode' ? await codec.decode(payloads) : await codec.encode(payloads);
    } catch (err) {
      // Codec errors name a key id at most, never plaintext or key material.
      throw new HttpError(422, (err as Error).message);
    }
    send(res, 200, { payloads: result.map(payloadToJson) });
    return 200;
  };

  const server = createServer((req, res) => {
    // The path without its query: /login carries the token there.
    const path = (req.url ?? '').split('?')[0];
    handle(req, res).then(
      (status) => logger?.info({ method: req.method, path, status, namespace: req.headers['x-namespace'] }),
      (err: unknown) => {
        const status = err instanceof HttpError ? err.status : 500;
        const message = err instanceof HttpError ? err.message : 'internal error';
        if (!res.headersSent) send(res, status, { error: message });
        logger?.warn({ method: req.method, path, status, error: message });
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? DEFAULT_CODEC_SERVER_PORT, opts.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
