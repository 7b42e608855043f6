import { Option, type Command } from 'commander';
import {
  AesGcmCodec,
  CODEC_KEY_FILE_ENV,
  CODEC_KEYS_ENV,
  codecKeysFromEnv,
  generateCodecKeyLine,
} from '../lib/runtime/codec';
import { createLogger } from '../lib/runtime/logger';
import { operatorSecretResolver } from '../activities/secrets/resolve';
import {
  DEFAULT_CODEC_SERVER_PORT,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_UI_ORIGIN,
  MIN_TOKEN_LENGTH,
  startCodecServer,
} from './codec-server';
import { parseDuration } from '../lib/duration';
import { say } from './output';
import { CliError, ExitCode } from './errors';

/** Where the codec server's bearer token comes from unless `--token-ref` says otherwise. */
const DEFAULT_CODEC_TOKEN_REF = 'env:SV0_CODEC_SERVER_TOKEN';

interface CodecServerFlags {
  port: string;
  host: string;
  origin: string[] | string;
  tokenRef: string;
  sessionTtl: string;
  maxSessions: string;
}

/** `sv0 codec-server` (decrypt payloads for the Web UI and CLI) and `sv0 codec-key` (a new key line). */
export function registerCodecCommands(program: Command): void {
  program
    .command('codec-server')
    .description(
      `serve POST /encode and /decode for the Temporal Web UI and CLI, with the keys of ${CODEC_KEY_FILE_ENV}; every request needs the bearer token`,
    )
    .addOption(
      new Option('--port <port>', 'port to listen on')
        .default(String(DEFAULT_CODEC_SERVER_PORT))
        .env('SV0_CODEC_SERVER_PORT'),
    )
    .addOption(new Option('--host <host>', 'address to bind').default('127.0.0.1'))
    .addOption(
      new Option('--origin <url...>', 'browser origins allowed (the Web UI)')
        .default([DEFAULT_UI_ORIGIN])
        .env('SV0_CODEC_SERVER_ORIGINS'),
    )
    .addOption(
      new Option('--token-ref <ref>', 'where the bearer token is: env:NAME or file:/path').default(
        DEFAULT_CODEC_TOKEN_REF,
      ),
    )
    .addOption(
      new Option('--session-ttl <duration>', 'how long a browser login lasts (e.g. 8h, 30m)').default('8h'),
    )
    .addOption(
      new Option(
        '--max-sessions <n>',
        'browser logins alive at once; a new one past it ends the oldest',
      ).default(String(DEFAULT_MAX_SESSIONS)),
    )
    .action(async (flags: CodecServerFlags) => {
      const port = Number(flags.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new CliError(`--port: "${flags.port}" is not a port number`, ExitCode.BadInput);
      }
      const sessionTtlMs = parseDuration(flags.sessionTtl, '--session-ttl');
      const maxSessions = Number(flags.maxSessions);
      if (!Number.isInteger(maxSessions) || maxSessions < 1) {
        throw new CliError(
          `--max-sessions: "${flags.maxSessions}" is not a whole number of at least 1`,
          ExitCode.BadInput,
        );
      }
      // The environment form is comma-separated; the flag may repeat.
      const origins = (Array.isArray(flags.origin) ? flags.origin : [flags.origin])
        .flatMap((o) => o.split(','))
        .map((o) => o.trim())
        .filter(Boolean);
      const keys = codecKeysFromEnv();
      if (!keys) {
        throw new CliError(
          `no codec keys: set ${CODEC_KEY_FILE_ENV} to a key file (or ${CODEC_KEYS_ENV}); make one with \`sv0 codec-key\``,
          ExitCode.BadInput,
        );
      }
      let token: string;
      try {
        token = await operatorSecretResolver().resolveSecret(flags.tokenRef);
      } catch (err) {
        throw new CliError(`--token-ref: ${(err as Error).message}`, ExitCode.BadInput);
      }
      if (token.length < MIN_TOKEN_LENGTH) {
        throw new CliError(
          `--token-ref ${flags.tokenRef}: the token must be at least ${MIN_TOKEN_LENGTH} characters`,
          ExitCode.BadInput,
        );
      }
      const server = await startCodecServer({
        codec: new AesGcmCodec(keys),
        token,
        allowedOrigins: origins,
        host: flags.host,
        port,
        sessionTtlMs,
        maxSessions,
        logger: createLogger('sv0-codec-server'),
      });
      say(
        `codec server on ${server.url} (origins: ${origins.join(', ')}; keys: ${keys.map((k) => k.id).join(', ')})`,
      );
      say(
        `Web UI: open ${server.url}/login in the browser that shows the UI and enter the token (a session of ${flags.sessionTtl}), then set the UI's codec endpoint to ${server.url} with "include cross-origin credentials" on`,
      );
      say(`CLI: --codec-endpoint ${server.url} --codec-auth 'Bearer <token>'`);
      await new Promise<void>((resolve) => {
        const stop = () => void server.close().then(resolve, resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });

  program
    .command('codec-key')
    .description(`print a new random key line (keyId=base64key) for the ${CODEC_KEY_FILE_ENV} file`)
    .option('--id <id>', 'key id', `key-${new Date().toISOString().slice(0, 10)}`)
    .action((flags: { id: string }) => {
      try {
        process.stdout.write(`${generateCodecKeyLine(flags.id)}\n`);
      } catch (err) {
        throw new CliError(`--id: ${(err as Error).message}`, ExitCode.BadInput);
      }
      say(
        `put this line first in the key file (chmod 600) and keep the old lines so old payloads stay readable`,
      );
    });
}
