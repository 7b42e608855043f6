/**
 * The codec server: lets the Temporal Web UI and CLI show decrypted payloads to those who hold
 * its bearer token, without giving them the keys. It speaks Temporal's codec-server protocol:
 * `POST /decode` and `POST /encode` with `{"payloads": [{"metadata": {k: base64}, "data": base64}]}`
 * in and out, and answers CORS preflights for the UI's origin.
 *
 * The token travels in `Authorization: Bearer <token>`: `temporal workflow show --codec-endpoint
 * http://host:port --codec-auth 'Bearer <token>'`, and never in a URL. A browser cannot be told to
 * send a static bearer token, so `/login` shows a form that POSTs the token and gives the browser a
 * session cookie instead (HttpOnly, SameSite=Strict; it expires, and at most a set number of
 * sessions live at once); the Web UI sends it when its codec setting "include cross-origin
 * credentials" is on. SameSite means the UI and the codec server must be the same site (same
 * scheme and host name; ports may differ), so the URL the server reports uses the host name of
 * the UI's origin when both are on this machine. Bodies are never logged: they hold plaintext.
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
/** The browser session cookie `POST /login` sets. */
export const SESSION_COOKIE = 'sv0_codec_session';
/** How long a browser session lasts (a working day). */
export const DEFAULT_SESSION_TTL_MS = 8 * 3600_000;
/** Browser sessions alive at once; a new login past it ends the oldest. */
export const DEFAULT_MAX_SESSIONS = 20;
/** Largest login form accepted. */
const MAX_LOGIN_BYTES = 4096;
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
  /** How long a browser session lasts. @default {@link DEFAULT_SESSION_TTL_MS} */
  sessionTtlMs?: number;
  /** Browser sessions alive at once; a new login past it ends the oldest. @default {@link DEFAULT_MAX_SESSIONS} */
  maxSessions?: number;
  /** The clock sessions expire by. @default Date.now */
  now?: () => number;
  /** 0 picks a free port. @default DEFAULT_CODEC_SERVER_PORT */
  port?: number;
  logger?: Logger;
}

export interface RunningCodecServer {
  /**
   * Base URL (what the UI's codec endpoint setting takes), e.g. http://localhost:8888. On a
   * loopback address it names the host the way the first loopback UI origin does, so that the UI
   * and the server are one site and the browser sends the session cookie.
   */
  url: string;
  /** Browser sessions alive now. */
  sessions(): number;
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

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, `request body larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = await readBody(req, MAX_BODY_BYTES);
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'request body is not JSON');
  }
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The URL to report for a server bound to `address:port`. Browsers send a SameSite cookie only
 * between pages of one site (scheme and host name; not the port), and `localhost` and `127.0.0.1`
 * are different sites: on a loopback address, name the host as the first loopback UI origin does.
 */
export function codecServerUrl(address: string, port: number, origins: Iterable<string>): string {
  const bound = address.includes(':') ? `[${address}]` : address;
  if (LOOPBACK_NAMES.has(bound) || /^127\./.test(address)) {
    for (const origin of origins) {
      let url: URL;
      try {
        url = new URL(origin);
      } catch {
        continue;
      }
      if (url.protocol === 'http:' && LOOPBACK_NAMES.has(url.hostname))
        return `http://${url.hostname}:${port}`;
    }
  }
  return `http://${bound}:${port}`;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The login page: a form that POSTs the token (never a URL that carries it). */
function loginPage(message: string): string {
  return [
    '<!doctype html>',
    '<html><head><meta charset="utf-8"><title>sv0 codec server</title></head><body>',
    `<p>${escapeHtml(message)}</p>`,
    '<form method="post" action="/login">',
    '<label>Codec server token <input type="password" name="token" autocomplete="off" required autofocus></label>',
    '<button type="submit">Log in</button>',
    '</form></body></html>',
    '',
  ].join('\n');
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
  const now = opts.now ?? Date.now;
  const ttl = opts.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
  const maxSessions = opts.maxSessions ?? DEFAULT_MAX_SESSIONS;
  if (!(ttl > 0) || !Number.isInteger(maxSessions) || maxSessions < 1)
    throw new Error('codec server: sessionTtlMs must be above 0 and maxSessions at least 1');
  // Browser sessions by id, oldest first, with their expiry. They live in this process only: a
  // restart asks each browser to log in again.
  const sessions = new Map<string, number>();
  const dropExpired = () => {
    const t = now();
    for (const [id, expiresAt] of sessions) if (expiresAt <= t) sessions.delete(id);
  };
  const newSession = (): string => {
    dropExpired();
    const id = randomBytes(32).toString('base64url');
    sessions.set(id, now() + ttl);
    while (sessions.size > maxSessions) sessions.delete(sessions.keys().next().value as string);
    return id;
  };
  const authorized = (req: IncomingMessage): boolean => {
    if (sameToken(bearerToken(req.headers.authorization), expected)) return true;
    const session = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (session === undefined) return false;
    dropExpired();
    return sessions.has(session);
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

  const html = (res: ServerResponse, status: number, body: string): number => {
    res.writeHead(status, {
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      'Content-Security-Policy': "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
      'X-Frame-Options': 'DENY',
      // Not no-referrer: with it the browser sends `Origin: null` on the form's POST.
      'Referrer-Policy': 'same-origin',
    });
    res.end(body);
    return status;
  };

  /**
   * `GET /login` shows the form, `POST /login` (form-encoded `token`) checks the token and sets the
   * session cookie. A token in the query is refused, so no link that carries it ever works. The
   * form is posted by the server's own page (or a client without an Origin); other origins are
   * refused, so no other page can log a browser in.
   */
  const login = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    const query = new URL(req.url ?? '', 'http://codec').searchParams;
    if (query.has('token'))
      return html(res, 400, loginPage('The token never goes in a URL: enter it below instead.'));
    if (req.method === 'GET') return html(res, 200, loginPage('Log this browser in to decode payloads.'));
    if (req.method !== 'POST') return (send(res, 405, { error: 'use GET or POST' }), 405);
    // The server's own origin, as the browser sees it (a reverse proxy passes its host along).
    // A cross-site form cannot set X-Forwarded-Host, so this stays a check of where the form was.
    const own = [req.headers.host, req.headers['x-forwarded-host']]
      .filter((h): h is string => typeof h === 'string')
      .flatMap((h) => [`http://${h}`, `https://${h}`]);
    const origin = req.headers.origin;
    if (origin !== undefined && !own.includes(origin))
      return (send(res, 403, { error: "log in from this server's own /login page" }), 403);
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim();
    if (type !== 'application/x-www-form-urlencoded')
      return (send(res, 415, { error: 'POST the login form (application/x-www-form-urlencoded)' }), 415);
    const token = new URLSearchParams(await readBody(req, MAX_LOGIN_BYTES)).get('token');
    if (!sameToken(token, expected))
      return html(res, 401, loginPage('Wrong token. Enter the codec server token.'));
    const secure = req.headers['x-forwarded-proto'] === 'https' ? '; Secure' : '';
    res.setHeader(
      'Set-Cookie',
      `${SESSION_COOKIE}=${newSession()}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.floor(ttl / 1000)}${secure}`,
    );
    return html(
      res,
      200,
      '<!doctype html><html><head><meta charset="utf-8"><title>sv0 codec server</title></head><body><p>This browser may now decode payloads. In the Web UI, set the codec endpoint to this server with "include cross-origin credentials" on.</p></body></html>\n',
    );
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    const route = (req.url ?? '').split('?')[0];
    if (route === '/login') return login(req, res);
    const corsAllowed = setCors(req, res);
    if (req.method === 'OPTIONS') {
      // Preflights carry no credentials by design: answer them without the token.
      if (!corsAllowed) return (send(res, 403, { error: 'origin not allowed' }), 403);
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
      res.setHeader('Access-Control-Max-Age', '600');
      return (send(res, 204), 204);
    }
    if (!corsAllowed) return (send(res, 403, { error: 'origin not allowed' }), 403);
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
    // The path without its query: a query is never needed, and a mistaken one may hold a secret.
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
  return {
    url: codecServerUrl(address.address, address.port, origins),
    sessions: () => (dropExpired(), sessions.size),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
