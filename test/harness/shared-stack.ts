/**
 * Test files run two at a time (vitest.config.mts), but the shared local stack (the dev server,
 * moto, the Podman API that the global setup starts) is used by one file at a time: files share
 * moto's organization, schedules with fixed ids, and workers polling fixed task queues. A file
 * that uses it holds this lock from before its first import to after its last hook (the setup
 * file takes it), so such files still run one after another. Files that start every part they
 * need themselves ({@link OWN_STACK_FILES}) take no lock and run next to them.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Files that use nothing of the shared stack but its tools and the container engine: the
 * deployment test (its own production server, moto, platform stand-in and workers) and the worker
 * image's checks. They mostly wait on timers, so they run alongside the rest.
 */
export const OWN_STACK_FILES = [
  'test/integration/deployment.test.ts',
  'test/integration/worker-image.test.ts',
];

const ROOT = path.resolve(__dirname, '../..');

/** Whether the test file at `file` (absolute, or relative to the repository) uses only its own stack. */
export function ownsItsStack(file: string): boolean {
  const relative = path.isAbsolute(file) ? path.relative(ROOT, file) : file;
  return OWN_STACK_FILES.includes(relative.split(path.sep).join('/'));
}

/** A process that no longer runs (it held the lock and died without releasing it). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Wait until this process holds the shared stack's lock (a folder under `runDir`: mkdir is
 * atomic); resolves with its release. A lock whose holder died is taken over.
 */
export async function holdSharedStack(runDir: string, holder: string): Promise<() => void> {
  const lock = path.join(runDir, 'shared-stack.lock');
  const owner = path.join(lock, 'owner');
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let pid = NaN;
    try {
      pid = Number(readFileSync(owner, 'utf8').split(' ')[0]);
    } catch {
      // Taken a moment ago: its holder writes the owner file next.
    }
    if (Number.isInteger(pid) && pid > 0 && gone(pid)) rmSync(lock, { recursive: true, force: true });
    else await new Promise((r) => setTimeout(r, 250));
  }
  writeFileSync(owner, `${process.pid} ${holder}`);
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    rmSync(lock, { recursive: true, force: true });
  };
  process.once('exit', release);
  return release;
}
