/**
 * Tokens the worker and the CLI read from their environment, taken from files instead: `NAME_FILE`
 * names a file whose content is NAME's value (compose `secrets:`, mounted under /run/secrets, and
 * Kubernetes secret volumes work this way), so that the token is not in the container's
 * environment for anyone who can inspect it. Files that are keys already (SV0_CODEC_KEY_FILE,
 * SOPS_AGE_KEY_FILE) and AWS's own AWS_SHARED_CREDENTIALS_FILE are read where they are used.
 */
import { readFileSync } from 'node:fs';

/** The variables that can come from a file named by `<NAME>_FILE`. */
export const FILE_BACKED_SECRETS = [
  'OP_SERVICE_ACCOUNT_TOKEN',
  'SV0_CODEC_SERVER_TOKEN',
  'TEMPORAL_API_KEY',
] as const;

/** A `*_FILE` variable that cannot be used; the message names the variable and the file. */
export class SecretFileError extends Error {
  override name = 'SecretFileError';
}

/**
 * Set each of {@link FILE_BACKED_SECRETS} from the file its `_FILE` variable names, in `env`
 * (process.env by default). The file holds the value alone (surrounding whitespace is dropped); an
 * empty file leaves the variable unset, so an optional secret can be mounted empty. A file in the
 * env-file format of earlier releases (`NAME=value`) is still read, with a warning: returned, never
 * printed here. Errors name the variable and the file, never the content.
 */
export function loadSecretFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const warnings: string[] = [];
  for (const name of FILE_BACKED_SECRETS) {
    const fileVar = `${name}_FILE`;
    const file = env[fileVar];
    if (!file) continue;
    if (env[name])
      throw new SecretFileError(`${name} and ${fileVar} are both set: keep one (${fileVar} names ${file})`);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new SecretFileError(`${fileVar}=${file}: cannot read the file (${reason})`);
    }
    let value = text.trim();
    const envFileLine = new RegExp(`^(?:export\\s+)?${name}=(.*)$`).exec(value);
    if (envFileLine && !value.includes('\n')) {
      value = envFileLine[1]!.trim().replace(/^(["'])(.*)\1$/, '$2');
      warnings.push(
        `${fileVar}=${file} is in the old env-file format (${name}=...); it is read this release only. ` +
          `Write the value alone: sed -i 's/^${name}=//' ${file}`,
      );
    } else if (value.includes('\n')) {
      throw new SecretFileError(`${fileVar}=${file}: the file must hold the value alone, on one line`);
    }
    if (value) env[name] = value;
  }
  return warnings;
}
