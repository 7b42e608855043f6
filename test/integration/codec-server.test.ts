import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  codecServerUrl,
  DEFAULT_UI_ORIGIN,
  SESSION_COOKIE,
  startCodecServer,
  type RunningCodecServer,
} from '../../clients/codec-server';
import {
  AesGcmCodec,
  generateCodecKeyLine,
  parseCodecKeys,
  payloadFromJson,
  payloadToJson,
  type JsonPayload,
} from '../../lib/runtime/codec';
import { createLogger, type Logger } from '../../lib/runtime/logger';
import { testCodecKeys } from '../harness/codec';
import { sv0 } from '../harness/cli';
import { stack } from '../harness/stack';

const UI_ORIGIN = 'http://localhost:8233';
const TOKEN = 'codec-test-token-0123456789';
const keys = testCodecKeys('server-key');
const codec = new AesGcmCodec(keys);

/** The headers the Temporal Web UI sends to a codec endpoint (with "pass access token" on). */
function uiHeaders(token = TOKEN): Record<string, string> {
  return {
    'Content-Type': 'application/json',
    'X-Namespace': 'default',
    Authorization: `Bearer ${token}`,
    Origin: UI_ORIGIN,
  };
}

describe('codec server', () => {
  let server: RunningCodecServer;
  beforeAll(async () => {
    server = await startCodecServer({ codec, token: TOKEN, port: 0, allowedOrigins: [UI_ORIGIN] });
  });
  afterAll(async () => {
    await server?.close();
  });

  async function post(route: string, payloads: JsonPayload[], headers = uiHeaders()) {
    return fetch(`${server.url}${route}`, { method: 'POST', headers, body: JSON.stringify({ payloads }) });
  }

  it('encodes and decodes in the codec-server JSON format, with CORS for the UI origin', async () => {
    const plain = payloadToJson(defaultPayloadConverter.toPayload({ secret: 'codec-server-plaintext' }));
    const encoded = await post('/encode', [plain]);
    expect(encoded.status).toBe(200);
    expect(encoded.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    const { payloads: ciphertext } = (await encoded.json()) as { payloads: JsonPayload[] };
    expect(Buffer.from(ciphertext[0]!.metadata!.encoding!, 'base64').toString()).toBe('binary/encrypted');
    expect(JSON.stringify(ciphertext)).not.toContain(
      Buffer.from('codec-server-plaintext').toString('base64'),
    );
    // What the server encrypted, the workers' codec decrypts, and the other way round.
    const [viaCodec] = await codec.decode(ciphertext.map(payloadFromJson));
    expect(defaultPayloadConverter.fromPayload(viaCodec!)).toEqual({ secret: 'codec-server-plaintext' });

    const decoded = await post('/decode', ciphertext);
    expect(decoded.status).toBe(200);
    const { payloads } = (await decoded.json()) as { payloads: JsonPayload[] };
    expect(defaultPayloadConverter.fromPayload(payloadFromJson(payloads[0]!))).toEqual({
      secret: 'codec-server-plaintext',
    });
  });

  it('answers 401 without a token and with a wrong one, and reveals nothing', async () => {
    const [encrypted] = await codec.encode([defaultPayloadConverter.toPayload('hidden-value')]);
    const body = [payloadToJson(encrypted!)];
    const { Authorization: _drop, ...noToken } = uiHeaders();
    for (const headers of [
      noToken,
      uiHeaders('wrong-token-wrong-token'),
      { ...noToken, Authorization: TOKEN },
    ]) {
      const res = await post('/decode', body, headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(await res.text()).not.toContain(Buffer.from('hidden-value').toString('base64'));
    }
  });

  it('answers the CORS preflight the browser sends for the UI, and refuses other origins', async () => {
    const preflight = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: {
        Origin: UI_ORIGIN,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,content-type,x-namespace',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    const allowed = (preflight.headers.get('access-control-allow-headers') ?? '').split(/,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'content-type', 'x-namespace']));

    const evil = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' },
    });
    expect(evil.status).toBe(403);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const evilPost = await post('/decode', [], { ...uiHeaders(), Origin: 'http://evil.example' });
    expect(evilPost.status).toBe(403);
  });

  it('names the unknown key id when a payload cannot be decrypted', async () => {
    const [foreign] = await new AesGcmCodec(testCodecKeys('retired-key')).encode([
      defaultPayloadConverter.toPayload('x'),
    ]);
    const res = await post('/decode', [payloadToJson(foreign!)]);
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: string }).error).toContain('unknown key id "retired-key"');
  });

  it('refuses bad requests: wrong route, wrong method, a body that is not the payloads format', async () => {
    expect((await post('/other', [])).status).toBe(404);
    expect((await fetch(`${server.url}/decode`, { headers: uiHeaders() })).status).toBe(405);
    const notJson = await fetch(`${server.url}/decode`, {
      method: 'POST',
      headers: uiHeaders(),
      body: 'nope',
    });
    expect(notJson.status).toBe(400);
    const noPayloads = await fetch(`${server.url}/decode`, {
      method: 'POST',
      headers: uiHeaders(),
      body: '{}',
    });
    expect(noPayloads.status).toBe(400);
  });

  it('refuses to start with a short token', async () => {
    await expect(startCodecServer({ codec, token: 'short', port: 0 })).rejects.toThrow(
      /at least 16 characters/,
    );
  });

  /**
   * A real page server on loopback stands in for the Web UI: the browser applies CORS (and its
   * local-network and cookie rules) exactly as for the UI. `fn` gets a tab on that origin and a
   * codec server that allows it.
   */
  async function inBrowser(
    host: 'localhost' | '127.0.0.1',
    fn: (tab: Page, codecUrl: string) => Promise<void>,
    logger?: Logger,
  ): Promise<void> {
    const executablePath = stack().tools.chromium;
    if (!executablePath)
      throw new Error('chromium is not provisioned: run `bash scripts/stack.sh provision`');
    const page = createServer((_req, res) =>
      res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html></html>'),
    );
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
    const uiOrigin = `http://${host}:${(page.address() as AddressInfo).port}`;
    const uiServer = await startCodecServer({
      codec,
      token: TOKEN,
      port: 0,
      allowedOrigins: [uiOrigin],
      logger,
    });
    const browser = await chromium.launch({
      executablePath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    try {
      const tab = await browser.newPage();
      await tab.goto(`${uiOrigin}/namespaces/default/workflows`);
      await fn(tab, uiServer.url);
    } finally {
      await browser.close();
      await uiServer.close();
      await new Promise((resolve) => page.close(resolve));
    }
  }

  /** A decode call from the tab, as the Web UI makes it (a bearer token, or the session cookie). */
  async function decodeFromTab(
    tab: Page,
    codecUrl: string,
    opts: { token?: string; credentials?: 'include' | 'same-origin' | 'omit' },
  ): Promise<{ status: number; value?: unknown }> {
    const [encrypted] = await codec.encode([defaultPayloadConverter.toPayload('seen-in-the-browser')]);
    const res = await tab.evaluate(
      async ({ url, token, credentials, payloads }) => {
        const r = await fetch(`${url}/decode`, {
          method: 'POST',
          credentials,
          headers: {
            'Content-Type': 'application/json',
            'X-Namespace': 'default',
            ...(token ? { Authorization: `Bearer ${token}` } : {}),
          },
          body: JSON.stringify({ payloads }),
        });
        return { status: r.status, body: (await r.json()) as { payloads?: JsonPayload[] } };
      },
      {
        url: codecUrl,
        token: opts.token,
        credentials: opts.credentials ?? 'same-origin',
        payloads: [payloadToJson(encrypted!)],
      },
    );
    const first = res.body.payloads?.[0];
    return {
      status: res.status,
      value: first ? defaultPayloadConverter.fromPayload(payloadFromJson(first)) : undefined,
    };
  }

  it('works from a real browser page on the UI origin, with the headers the Web UI sends', async () => {
    await inBrowser('localhost', async (tab, codecUrl) => {
      expect(await decodeFromTab(tab, codecUrl, { token: TOKEN })).toEqual({
        status: 200,
        value: 'seen-in-the-browser',
      });
      // The browser can read the 401 too (CORS headers on errors), so the UI can say why.
      expect((await decodeFromTab(tab, codecUrl, { token: 'wrong-token-wrong-token' })).status).toBe(401);
    });
  });

  /** Log the tab in through the codec server's form, as a person would. */
  async function logInFromTab(tab: Page, codecUrl: string, token = TOKEN): Promise<number | undefined> {
    await tab.goto(`${codecUrl}/login`);
    await tab.fill('input[name="token"]', token);
    const [response] = await Promise.all([tab.waitForNavigation(), tab.click('button[type="submit"]')]);
    return response?.status();
  }

  it('lets a browser that logged in through the form decode with its session cookie (no bearer token)', async () => {
    const lines: string[] = [];
    const logger = createLogger('codec-test', { write: (line: string) => void lines.push(line) });
    await inBrowser(
      '127.0.0.1',
      async (tab, codecUrl) => {
        const ui = tab.url();
        // Not logged in yet: the cookie-only call is refused.
        expect((await decodeFromTab(tab, codecUrl, { credentials: 'include' })).status).toBe(401);
        expect(await logInFromTab(tab, codecUrl, 'wrong-token-wrong-token')).toBe(401);
        expect(await tab.context().cookies(codecUrl)).toEqual([]);

        expect(await logInFromTab(tab, codecUrl)).toBe(200);
        const [cookie] = await tab.context().cookies(codecUrl);
        expect(cookie).toMatchObject({ name: SESSION_COOKIE, httpOnly: true, sameSite: 'Strict' });
        expect(cookie?.value).not.toContain(TOKEN);
        expect(cookie!.expires - Date.now() / 1000).toBeGreaterThan(7 * 3600);
        expect(cookie!.expires - Date.now() / 1000).toBeLessThanOrEqual(8 * 3600);

        await tab.goto(ui);
        // The Web UI's "include cross-origin credentials": the session cookie is enough.
        expect(await decodeFromTab(tab, codecUrl, { credentials: 'include' })).toEqual({
          status: 200,
          value: 'seen-in-the-browser',
        });
        // Without credentials the browser sends no cookie, and a forged cookie is refused.
        expect((await decodeFromTab(tab, codecUrl, {})).status).toBe(401);
        const forged = await fetch(`${codecUrl}/decode`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Cookie: `${SESSION_COOKIE}=forged` },
          body: '{"payloads":[]}',
        });
        expect(forged.status).toBe(401);
      },
      logger,
    );
    expect(lines.some((l) => l.includes('/login'))).toBe(true);
    expect(lines.join('\n')).not.toContain(TOKEN);
  });
});

describe('codec server logins', () => {
  const form = (token: string) => new URLSearchParams({ token }).toString();
  const formHeaders = { 'Content-Type': 'application/x-www-form-urlencoded' };

  /** Log in from a client (no Origin); the session cookie's `name=value`, or the status when refused. */
  async function logIn(url: string, init: RequestInit = {}): Promise<string | number> {
    const res = await fetch(`${url}/login`, {
      method: 'POST',
      headers: formHeaders,
      body: form(TOKEN),
      ...init,
    });
    const cookie = res.headers.get('set-cookie');
    return res.status === 200 && cookie ? cookie.split(';')[0]! : res.status;
  }
  const decodeWith = async (url: string, cookie: string) =>
    (
      await fetch(`${url}/decode`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Cookie: cookie },
        body: '{"payloads":[]}',
      })
    ).status;

  it('never takes the token from a URL, and refuses logins from other origins or in other shapes', async () => {
    const lines: string[] = [];
    const server = await startCodecServer({
      codec,
      token: TOKEN,
      port: 0,
      logger: createLogger('codec-test', { write: (line: string) => void lines.push(line) }),
    });
    try {
      for (const method of ['GET', 'POST']) {
        const res = await fetch(`${server.url}/login?token=${TOKEN}`, {
          method,
          ...(method === 'POST' ? { headers: formHeaders, body: form(TOKEN) } : {}),
        });
        expect(res.status).toBe(400);
        expect(res.headers.get('set-cookie')).toBeNull();
        expect(await res.text()).toContain('never goes in a URL');
      }
      const page = await fetch(`${server.url}/login`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(await page.text()).toMatch(/<form method="post" action="\/login">/);

      expect(await logIn(server.url, { body: form('wrong-token-wrong-token') })).toBe(401);
      expect(await logIn(server.url, { headers: { ...formHeaders, Origin: 'http://evil.example' } })).toBe(
        403,
      );
      expect(await logIn(server.url, { headers: { ...formHeaders, Origin: UI_ORIGIN } })).toBe(403);
      expect(
        await logIn(server.url, {
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ token: TOKEN }),
        }),
      ).toBe(415);
      expect(server.sessions()).toBe(0);
      // The server's own page posts with its own origin.
      expect(await logIn(server.url, { headers: { ...formHeaders, Origin: server.url } })).toMatch(
        new RegExp(`^${SESSION_COOKIE}=`),
      );
      expect(server.sessions()).toBe(1);
    } finally {
      await server.close();
    }
    expect(lines.join('\n')).not.toContain(TOKEN);
  });

  it('ends sessions when they expire, and keeps at most maxSessions alive (the oldest ends first)', async () => {
    let now = Date.parse('2026-12-07T09:00:00Z');
    const server = await startCodecServer({
      codec,
      token: TOKEN,
      port: 0,
      sessionTtlMs: 3600_000,
      maxSessions: 2,
      now: () => now,
    });
    try {
      const first = await logIn(server.url);
      expect(typeof first).toBe('string');
      expect(await decodeWith(server.url, first as string)).toBe(200);
      now += 3600_000;
      expect(await decodeWith(server.url, first as string)).toBe(401);
      expect(server.sessions()).toBe(0);

      const [a, b, c] = [
        await logIn(server.url),
        await logIn(server.url),
        await logIn(server.url),
      ] as string[];
      expect(server.sessions()).toBe(2);
      expect(await decodeWith(server.url, a!)).toBe(401);
      expect(await decodeWith(server.url, b!)).toBe(200);
      expect(await decodeWith(server.url, c!)).toBe(200);
      // The bearer token works regardless of sessions.
      expect(
        (
          await fetch(`${server.url}/decode`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${TOKEN}` },
            body: '{"payloads":[]}',
          })
        ).status,
      ).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('reports its URL with the UI origin’s host name on loopback, so both are one site', () => {
    expect(codecServerUrl('127.0.0.1', 8888, ['http://localhost:8233'])).toBe('http://localhost:8888');
    expect(codecServerUrl('127.0.0.1', 8888, ['http://127.0.0.1:8233', 'http://localhost:8233'])).toBe(
      'http://127.0.0.1:8888',
    );
    expect(codecServerUrl('::1', 8888, ['http://localhost:8233'])).toBe('http://localhost:8888');
    expect(codecServerUrl('127.0.0.1', 8888, ['https://temporal.example.com'])).toBe('http://127.0.0.1:8888');
    expect(codecServerUrl('0.0.0.0', 8888, ['http://localhost:8233'])).toBe('http://0.0.0.0:8888');
    expect(codecServerUrl('::1', 8888, [])).toBe('http://[::1]:8888');
  });
});

describe('sv0 codec-server', () => {
  it('serves with the keys of SV0_CODEC_KEY_FILE and the token from its reference; a browser logs in with its defaults', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sv0-codec-cli-'));
    const keyFile = path.join(dir, 'codec.keys');
    const line = generateCodecKeyLine('cli-key');
    writeFileSync(keyFile, `${line}\n`);
    chmodSync(keyFile, 0o600);
    const { SV0_CODEC_SERVER_ORIGINS: _o, SV0_CODEC_SERVER_PORT: _p, ...env } = process.env;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.resolve(__dirname, '../../clients/cli.ts'), 'codec-server', '--port', '0'],
      {
        env: { ...env, SV0_CODEC_KEY_FILE: keyFile, SV0_CODEC_SERVER_TOKEN: TOKEN },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          const match = /codec server on (http:\/\/\S+)[\s\S]*CLI: /.exec(stderr);
          if (match) resolve(match[1]!);
        });
        child.once('exit', (code) => reject(new Error(`sv0 codec-server exited ${code}: ${stderr}`)));
      });
      // The printed URL is the default UI origin's site: same scheme and host name.
      expect(new URL(url).hostname).toBe(new URL(DEFAULT_UI_ORIGIN).hostname);
      expect(stderr).toContain(`open ${url}/login`);
      expect(stderr).not.toContain(TOKEN);

      const [encrypted] = await new AesGcmCodec(parseCodecKeys(line, 'test')).encode([
        defaultPayloadConverter.toPayload('via-the-cli'),
      ]);
      const res = await fetch(`${url}/decode`, {
        method: 'POST',
        headers: uiHeaders(),
        body: JSON.stringify({ payloads: [payloadToJson(encrypted!)] }),
      });
      expect(res.status).toBe(200);
      const { payloads } = (await res.json()) as { payloads: JsonPayload[] };
      expect(defaultPayloadConverter.fromPayload(payloadFromJson(payloads[0]!))).toBe('via-the-cli');
      const denied = await fetch(`${url}/decode`, { method: 'POST', body: '{"payloads":[]}' });
      expect(denied.status).toBe(401);

      // The Web UI on its default origin (a page server on that port: a page the browser made up
      // itself would be a public one, and the browser keeps public pages from loopback servers),
      // the codec server at the URL the CLI printed: logging in once makes the cookie work.
      const executablePath = stack().tools.chromium;
      if (!executablePath)
        throw new Error('chromium is not provisioned: run `bash scripts/stack.sh provision`');
      const ui = new URL(DEFAULT_UI_ORIGIN);
      const page = createServer((_req, res) =>
        res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html></html>'),
      );
      await new Promise<void>((resolve, reject) => {
        page.once('error', (err) =>
          reject(
            new Error(
              `port ${ui.port} (the Web UI's default) is taken on 127.0.0.1: stop what serves there (a dev server with its UI) and run again (${(err as Error).message})`,
            ),
          ),
        );
        page.listen(Number(ui.port), '127.0.0.1', resolve);
      });
      const browser = await chromium.launch({
        executablePath,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      });
      try {
        const tab = await browser.newPage();
        const decode = () =>
          tab.evaluate(
            async ({ codecUrl, body }) =>
              (
                await fetch(`${codecUrl}/decode`, {
                  method: 'POST',
                  credentials: 'include',
                  headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default' },
                  body,
                })
              ).status,
            { codecUrl: url, body: JSON.stringify({ payloads: [payloadToJson(encrypted!)] }) },
          );
        await tab.goto(`${DEFAULT_UI_ORIGIN}/namespaces/default/workflows`);
        expect(await decode()).toBe(401);
        await tab.goto(`${url}/login`);
        await tab.fill('input[name="token"]', TOKEN);
        const [login] = await Promise.all([tab.waitForNavigation(), tab.click('button[type="submit"]')]);
        expect(login?.status()).toBe(200);
        await tab.goto(`${DEFAULT_UI_ORIGIN}/namespaces/default/workflows`);
        expect(await decode()).toBe(200);
      } finally {
        await browser.close();
        await new Promise((resolve) => page.close(resolve));
      }
    } finally {
      child.kill('SIGTERM');
    }
  });

  it.each([
    [['--session-ttl', '8 hours'], /--session-ttl: "8 hours" is not a duration/],
    [['--max-sessions', '0'], /--max-sessions: "0" is not a whole number of at least 1/],
  ])('refuses `sv0 codec-server %s` (exit 2)', async (args, message) => {
    const { code, stderr } = await sv0('codec-server', ...args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });
});
