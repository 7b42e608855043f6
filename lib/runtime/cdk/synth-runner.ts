/**
 * Entry of the child process that synthesizes a demo app (see {@link synthesizeApp}): load the app
 * module, give its default export an App whose stacks use the demo synthesizer, and synthesize
 * into the output folder. A failure prints one line to stderr and exits 1.
 */
import { App } from 'aws-cdk-lib';
import { DemoAssetSynthesizer } from './synthesizer';

function main(): void {
  const appFile = process.env.SV0_SYNTH_APP;
  const outdir = process.env.SV0_SYNTH_OUT;
  if (!appFile || !outdir) throw new Error('SV0_SYNTH_APP and SV0_SYNTH_OUT must be set');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(appFile) as { default?: unknown };
  const define = mod.default;
  if (typeof define !== 'function') {
    throw new Error(
      'the app must export a default function that receives the App: export default function (app: App) { ... }',
    );
  }
  const app = new App({
    outdir,
    analyticsReporting: false,
    defaultStackSynthesizer: new DemoAssetSynthesizer(),
  });
  (define as (app: App) => void)(app);
  app.synth();
}

try {
  main();
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
