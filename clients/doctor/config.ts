/**
 * The `config` check: connectors.yaml valid and allowed by the worker's settings (worker.yaml of
 * the same folder). The connectors it loads tell the other checks what to look at.
 */
import { type ConnectorsConfig } from '../../lib/config/connectors';
import { ConfigError } from '../../lib/config/validate';
import { loadConnectorsConfig } from '../../lib/runtime/config';
import { checkConnectorsForWorker } from '../../lib/runtime/worker-settings';
import { message, type CheckResult } from './check';

/** The check, and the connectors when the file loaded (even when the worker would refuse some). */
export function checkConfig(
  configDir: string,
  env: NodeJS.ProcessEnv,
): { result: CheckResult; connectors?: ConnectorsConfig } {
  let connectors: ConnectorsConfig | undefined;
  try {
    connectors = loadConnectorsConfig(configDir);
    checkConnectorsForWorker(configDir, connectors, env);
    return {
      connectors,
      result: {
        name: 'config',
        status: 'ok',
        detail: `${configDir}: connectors.yaml valid and allowed by the worker's settings (${connectors.connectors.length} connectors)`,
      },
    };
  } catch (err) {
    return {
      ...(connectors ? { connectors } : {}),
      result: {
        name: 'config',
        status: err instanceof ConfigError ? 'fail' : 'warn',
        detail: message(err),
        fix: 'fix the file named above (a refusal by the worker names the setting to add to worker.yaml), or pass --config-dir / SV0_CONFIG_DIR',
      },
    };
  }
}
