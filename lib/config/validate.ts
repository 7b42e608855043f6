import { parseDocument } from 'yaml';
import { z } from 'zod';
import { isDuration } from '../duration';

/**
 * A configuration problem found before anything runs. The message names the file, the field path
 * and the reason, one problem per line, so an operator can fix them all in one edit.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly problems: { path: string; reason: string }[],
  ) {
    super(problems.map((p) => `${file}: ${p.path ? `${p.path}: ` : ''}${p.reason}`).join('\n'));
  }
}

/**
 * A duration field in a config file, in the one strict form (`30s`, `30m`, `2h`, `1d`). Checked
 * inside zod so a bad value becomes a {@link ConfigError} naming the file and the field path,
 * instead of a bare DurationError from a later `parseDuration`.
 */
export const durationSchema = z
  .string()
  .refine(isDuration, 'write a duration: a whole number and one unit, 30s, 30m, 2h or 1d')
  .refine((text) => !/^0+[smhd]$/.test(text), 'a duration must be longer than zero');

/** True when `text` passes {@link durationSchema}, so `parseDuration(text)` will not throw. */
export function isConfigDuration(text: string): boolean {
  return durationSchema.safeParse(text).success;
}

/** Render a zod issue path the way operators read it: `accounts[1].email`. */
export function formatFieldPath(segments: readonly PropertyKey[]): string {
  return segments
    .map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? String(s) : `.${String(s)}`))
    .join('');
}

/**
 * Why a value is refused. A bad key of a record (an environment variable name, a role chain name)
 * is refused for the key schema's reasons, where zod says only "Invalid key in record".
 */
function issueReason(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_key' && issue.issues.length > 0)
    return issue.issues.map((inner) => inner.message).join('; ');
  return issue.message;
}

/** Turn a zod failure into a {@link ConfigError} for `file`. */
function configErrorFromZod(file: string, error: z.ZodError): ConfigError {
  return new ConfigError(
    file,
    error.issues.map((issue) => ({ path: formatFieldPath(issue.path), reason: issueReason(issue) })),
  );
}

/**
 * Validate an already-parsed value against `schema`, or throw a {@link ConfigError} naming `file`.
 * Use for values that come from somewhere other than a YAML file (CLI input, workflow input).
 */
function validate<S extends z.ZodType>(schema: S, value: unknown, file: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw configErrorFromZod(file, result.error);
  return result.data;
}

/**
 * Parse a config file's YAML text and validate it. A YAML syntax error and a schema violation both
 * become a {@link ConfigError} that names the file (as given, relative paths stay relative).
 */
export function parseYamlConfig<S extends z.ZodType>(text: string, schema: S, file: string): z.output<S> {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({ path: '', reason: `YAML syntax: ${e.message.split('\n')[0]}` })),
    );
  }
  return validate(schema, doc.toJS() ?? {}, file);
}
