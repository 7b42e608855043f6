import pino from 'pino';

export type Logger = pino.Logger;

/**
 * Structured JSON logs on stderr (stdout stays free for `--json` output).
 * @param destination where lines go; tests pass a stream they can search for leaked secrets.
 */
export function createLogger(name: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { name, level: process.env.LOG_LEVEL ?? 'info', timestamp: pino.stdTimeFunctions.isoTime },
    destination ?? pino.destination(2),
  );
}
