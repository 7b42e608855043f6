import pino from 'pino';

export type Logger = pino.Logger;

/** The levels LOG_LEVEL takes, from the most to the least verbose (pino's and the SDK's own). */
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The level of every log line this process writes, its own and the Temporal SDK's: LOG_LEVEL
 * (any case), else info.
 * @throws Error naming the variable and the levels it takes, for any other value.
 */
export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const value = env.LOG_LEVEL?.trim().toLowerCase() || 'info';
  const level = LOG_LEVELS.find((l) => l === value);
  if (!level) throw new Error(`LOG_LEVEL=${env.LOG_LEVEL}: use one of ${LOG_LEVELS.join(', ')}`);
  return level;
}

/**
 * Structured JSON logs on stderr (stdout stays free for `--json` output), at LOG_LEVEL.
 * @param destination where lines go; tests pass a stream they can search for leaked secrets.
 */
export function createLogger(name: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { name, level: logLevelFromEnv(), timestamp: pino.stdTimeFunctions.isoTime },
    destination ?? pino.destination(2),
  );
}
