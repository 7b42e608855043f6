import { readFile, realpath, stat } from 'node:fs/promises';
import { isUnder } from '../../lib/config/worker';
import { SecretError, SecretRefusedError } from './errors';

/**
 * The real path of `file` (symlinks and `..` resolved) when it lies under the real path of one of
 * `folders`; else a refusal. Checked when the file is about to be read, and the real path is what
 * is read, so a symlink placed in an allowed folder cannot lead out of it.
 */
export async function realpathUnder(file: string, folders: readonly string[], what: string): Promise<string> {
  let real: string;
  try {
    real = await realpath(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SecretError(
      `${what}: ${code === 'ENOENT' ? 'file not found' : `cannot read it (${code ?? 'error'})`}`,
    );
  }
  for (const folder of folders) {
    const realFolder = await realpath(folder).catch(() => undefined);
    if (realFolder && (real === realFolder || isUnder(realFolder, real))) return real;
  }
  throw new SecretRefusedError(
    `${what}: refused, it resolves outside the worker's secret folders (${folders.join(', ')}; secrets.folders in worker.yaml)`,
  );
}

/**
 * Read a file that holds secrets, refusing it when anyone but its owner may read or write it
 * (secret files are chmod 600, owned by the worker's user): a wider mode means the secret is
 * already exposed, and running on quietly would hide that.
 * @param what names the file's role in errors, e.g. `connector aws: env file`.
 */
export async function readPrivateFile(file: string, what: string): Promise<Buffer> {
  let mode: number;
  try {
    mode = (await stat(file)).mode;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SecretError(
      `${what} ${file}: ${code === 'ENOENT' ? 'file not found' : `cannot read it (${code ?? 'error'})`}`,
    );
  }
  if ((mode & 0o077) !== 0) {
    throw new SecretError(
      `${what} ${file}: refused, group or others have access (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); run chmod 600 on it`,
    );
  }
  try {
    return await readFile(file);
  } catch (err) {
    throw new SecretError(
      `${what} ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

/** Read a file that holds no secret value (a file of op:// references, a SOPS file). */
export async function readPublicFile(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SecretError(
      `${what} ${file}: ${code === 'ENOENT' ? 'file not found' : `cannot read it (${code ?? 'error'})`}`,
    );
  }
}

/**
 * Parse an env file as `docker run --env-file` and `op run --env-file` read it: `NAME=value` lines,
 * `#` comments and blank lines skipped, an optional `export ` prefix, one pair of matching quotes
 * around a value removed. No variable expansion. Errors give the line number, never the line (it may
 * hold a secret).
 */
export function parseEnvFile(text: string, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/.exec(line);
    if (!match) throw new SecretError(`${what}: line ${index + 1} is not NAME=value`);
    let value = (match[2] ?? '').trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0]))
      value = value.slice(1, -1);
    out[match[1] as string] = value;
  });
  return out;
}
