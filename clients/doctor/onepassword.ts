/** The `1password` check: a service account token where an enabled connector uses op:// references. */
import { readFileSync } from 'node:fs';
import { type ConnectorsConfig } from '../../lib/config/connectors';
import { secretRefScheme } from '../../lib/config/secret-refs';
import { type CheckResult } from './check';

/** What needs 1Password: the platform token, registry logins and connectors with op:// values. */
function onePasswordUsers(config: ConnectorsConfig): string[] {
  const users = new Set<string>();
  const isOp = (ref: string) => secretRefScheme(ref) === 'op';
  if (isOp(config.platform.tokenRef)) users.add('platform.tokenRef (connector-health)');
  for (const c of config.connectors.filter((x) => x.enabled)) {
    if (c.registryAuth && isOp(c.registryAuth.passwordRef)) users.add(`${c.name} (registry login)`);
    for (const s of c.secrets) {
      if (s.type === 'refs' && Object.values(s.vars).some(isOp)) users.add(c.name);
      if (s.type === 'env-file' && envFileHasOpRefs(s.path)) users.add(c.name);
    }
  }
  return [...users];
}

/** An env file holding `op://` values needs 1Password; an unreadable file is judged by the worker. */
function envFileHasOpRefs(file: string): boolean {
  try {
    return /^[A-Za-z_][A-Za-z0-9_]*=["']?op:\/\//m.test(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
}

/** Skipped when connectors.yaml did not load or nothing enabled needs 1Password. */
export function checkOnePassword(env: NodeJS.ProcessEnv, connectors?: ConnectorsConfig): CheckResult {
  const users = connectors ? onePasswordUsers(connectors) : [];
  if (users.length === 0)
    return { name: '1password', status: 'skipped', detail: 'no enabled connector uses op:// references' };
  const token = env.OP_SERVICE_ACCOUNT_TOKEN;
  if (!token) {
    return {
      name: '1password',
      status: 'fail',
      detail: `OP_SERVICE_ACCOUNT_TOKEN is not set; needed by ${users.join(', ')}`,
      fix: 'give the worker a 1Password service account token with read access to the vault: the token alone in /etc/sv0/op-token (chown 1000, chmod 600), which the compose file mounts as a secret for OP_SERVICE_ACCOUNT_TOKEN_FILE; or OP_SERVICE_ACCOUNT_TOKEN itself',
    };
  }
  if (!token.startsWith('ops_')) {
    return {
      name: '1password',
      status: 'warn',
      detail: 'OP_SERVICE_ACCOUNT_TOKEN is set but does not look like a service account token (ops_...)',
      fix: 'copy the token of a 1Password service account (Developer > Service Accounts)',
    };
  }
  return {
    name: '1password',
    status: 'ok',
    detail: `OP_SERVICE_ACCOUNT_TOKEN set; used by ${users.join(', ')}`,
  };
}
