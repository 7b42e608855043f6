import os from 'node:os';
import type { ApprovalOrigin } from '../contracts/budget';

/**
 * Who runs this client, as the operating system says: the OS user and the host. What an approval
 * carries next to the person it names, and part of the client identity Temporal records with every
 * event a client causes in a workflow's history (a start, a signal, an update). Self-reported: the server checks
 * neither unless it authenticates clients (docs/budgets.md).
 */
export function clientOrigin(): ApprovalOrigin {
  let osUser: string;
  try {
    osUser = os.userInfo().username;
  } catch {
    // No passwd entry for this uid (a container's arbitrary uid): name the uid.
    osUser = `uid ${process.getuid?.() ?? 'unknown'}`;
  }
  return { osUser, host: os.hostname() };
}

/**
 * The Temporal client identity of this process (CLI, worker, scripts): `sv0 <OS user>@<host> pid
 * <pid>`, Temporal's default `<pid>@<host>` plus the OS user.
 */
export function clientIdentity(): string {
  const { osUser, host } = clientOrigin();
  return `sv0 ${osUser}@${host} pid ${process.pid}`;
}
