/**
 * Synthesize a demo app (a CDK v2 TypeScript module) in a child process with an explicit, minimal
 * environment: no AWS keys, tokens, key files or settings of the parent reach the app. The child
 * compiles TypeScript with esbuild, resolves aws-cdk-lib from this project's node_modules and
 * writes the cloud assembly to a fresh folder; its output is bounded and only its last line of
 * error reaches the caller.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readAssembly, type Assembly } from './assembly';

/** Synthesis failed: the reason, bounded, from the app's own error. */
export class SynthError extends Error {
  override name = 'SynthError';
}

/** A synthesized app and the folder holding its assembly; `dispose` removes the folder. */
export interface SynthesizedApp extends Assembly {
  dir: string;
  dispose(): void;
}

/** Most output kept from the child, per stream. */
const OUTPUT_LIMIT = 64 * 1024;
/** Longest reason passed on in an error. */
const REASON_LIMIT = 600;

const nodeModules = path.resolve(require.resolve('aws-cdk-lib/package.json'), '..', '..');
const runner = path.join(__dirname, `synth-runner${path.extname(__filename)}`);

/** Loads `.ts` modules through esbuild, then runs the runner (kept tiny: it is passed with -e). */
const bootstrap = `
const esbuild = require(${JSON.stringify(require.resolve('esbuild'))});
const fs = require('node:fs');
require.extensions['.ts'] = (m, filename) => {
  const out = esbuild.transformSync(fs.readFileSync(filename, 'utf8'), {
    loader: 'ts', format: 'cjs', target: 'node22', sourcefile: filename, sourcemap: 'inline',
  });
  m._compile(out.code, filename);
};
require(${JSON.stringify(runner)});
`;

/** Redact what looks like a credential, whatever an app prints. */
function redact(text: string): string {
  return text
    .replace(/\b(A3T|AKIA|ASIA|AROA|AIDA)[A-Z0-9]{12,}\b/g, '[redacted]')
    .replace(/((?:secret|token|password|key)[\w-]*\s*[=:]\s*)\S+/gi, '$1[redacted]');
}

/** The last non-empty line of an output, bounded and redacted. */
function reasonOf(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const last = lines.at(-1) ?? 'no error output';
  return redact(last.length > REASON_LIMIT ? `${last.slice(0, REASON_LIMIT)}...` : last);
}

/**
 * Synthesize `appFile` (an absolute path) into a new temporary folder. Throws a {@link SynthError}
 * with the app's own reason when it does not synthesize, or when it runs past `timeoutMs`.
 */
export async function synthesizeApp(
  appFile: string,
  opts: { timeoutMs?: number } = {},
): Promise<SynthesizedApp> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sv0-synth-'));
  const dispose = () => rmSync(dir, { recursive: true, force: true });
  try {
    const timeoutMs = opts.timeoutMs ?? 120_000;
    const { code, stderr, timedOut } = await new Promise<{
      code: number | null;
      stderr: string;
      timedOut: boolean;
    }>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', bootstrap], {
        cwd: path.dirname(appFile),
        // Only what synthesis needs: no AWS_*, tokens, key files or proxies of the parent.
        env: {
          PATH: '/usr/local/bin:/usr/bin:/bin',
          HOME: dir,
          TMPDIR: dir,
          NODE_PATH: nodeModules,
          SV0_SYNTH_APP: appFile,
          SV0_SYNTH_OUT: path.join(dir, 'cdk.out'),
          CDK_DISABLE_VERSION_CHECK: '1',
          JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION: '1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stdout.on('data', () => undefined);
      child.stderr.on('data', (chunk: Buffer) => {
        err = (err + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
      });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('close', (c) => {
        clearTimeout(timer);
        resolve({ code: c, stderr: err, timedOut });
      });
    });
    if (timedOut)
      throw new SynthError(`synthesis ran past ${Math.round(timeoutMs / 1000)} s and was stopped`);
    if (code !== 0) throw new SynthError(reasonOf(stderr));
    try {
      return { ...readAssembly(path.join(dir, 'cdk.out')), dir, dispose };
    } catch (e) {
      throw new SynthError(reasonOf((e as Error).message));
    }
  } catch (e) {
    dispose();
    throw e;
  }
}
