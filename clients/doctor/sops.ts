/** The `sops age key` check: the worker's age key, where an enabled connector reads a SOPS file. */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { type ConnectorsConfig } from '../../lib/config/connectors';
import { message, type CheckResult } from './check';

/** Skipped when connectors.yaml did not load or no enabled connector has a sops source. */
export function checkSops(env: NodeJS.ProcessEnv, connectors?: ConnectorsConfig): CheckResult {
  // One entry per sops source, in file order.
  const users = (connectors?.connectors ?? [])
    .filter((c) => c.enabled)
    .flatMap((c) => c.secrets.filter((s) => s.type === 'sops').map(() => c.name));
  if (users.length === 0)
    return { name: 'sops age key', status: 'skipped', detail: 'no enabled connector uses a SOPS file' };
  const problem = ageKeyProblem(env);
  const names = users.join(', ');
  if (!problem) return { name: 'sops age key', status: 'ok', detail: `key readable for ${names}` };
  return {
    name: 'sops age key',
    status: 'fail',
    detail: `${problem}; needed by ${names}`,
    fix: "point SOPS_AGE_KEY_FILE at the age key made by `age-keygen -o /etc/sv0/age-key.txt`, owned by the worker's user, chmod 600 (or give the key itself in SOPS_AGE_KEY, never both)",
  };
}

/** What is wrong with the worker's age key: exactly one of SOPS_AGE_KEY_FILE or SOPS_AGE_KEY. */
function ageKeyProblem(env: NodeJS.ProcessEnv): string | undefined {
  const file = env.SOPS_AGE_KEY_FILE;
  if (file && env.SOPS_AGE_KEY)
    return 'SOPS_AGE_KEY_FILE and SOPS_AGE_KEY are both set (the worker refuses to start)';
  if (env.SOPS_AGE_KEY)
    return /^AGE-SECRET-KEY-1/m.test(env.SOPS_AGE_KEY)
      ? undefined
      : 'SOPS_AGE_KEY holds no AGE-SECRET-KEY line';
  if (!file) return 'neither SOPS_AGE_KEY_FILE nor SOPS_AGE_KEY is set';
  try {
    accessSync(file, constants.R_OK);
    if (!/^AGE-SECRET-KEY-1/m.test(readFileSync(file, 'utf8'))) return `${file} holds no AGE-SECRET-KEY line`;
    if ((statSync(file).mode & 0o077) !== 0) return `${file} is readable by others (chmod 600 it)`;
    return undefined;
  } catch (err) {
    return `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? message(err)})`;
  }
}
