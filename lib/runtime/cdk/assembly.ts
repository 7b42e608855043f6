/**
 * What a demo app's synthesis leaves behind, read without aws-cdk-lib: the one stack's template
 * and the file assets the worker uploads to the demo's asset bucket before it creates the stack.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** A file asset: where synthesis staged it and the object key the template expects. */
export interface FileAsset {
  /** The asset's content hash. */
  id: string;
  /** Absolute path of the staged file or directory. */
  path: string;
  /** `zip`: a directory, zipped for upload; `file`: uploaded as it is. */
  packaging: 'zip' | 'file';
  objectKey: string;
}

export interface Assembly {
  /** The stack's template, as compact JSON. */
  templateBody: string;
  assets: FileAsset[];
}

interface ManifestArtifact {
  type: string;
  properties?: { templateFile?: string; file?: string };
}

interface AssetManifest {
  files?: Record<
    string,
    {
      source: { path?: string; packaging?: string; executable?: string[] };
      destinations: Record<string, { objectKey: string }>;
    }
  >;
  dockerImages?: Record<string, unknown>;
}

/** Read a cloud assembly directory: exactly one stack, file assets only. Throws with the reason. */
export function readAssembly(dir: string): Assembly {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
    artifacts?: Record<string, ManifestArtifact>;
  };
  const artifacts = Object.entries(manifest.artifacts ?? {});
  const stacks = artifacts.filter(([, a]) => a.type === 'aws:cloudformation:stack');
  if (stacks.length !== 1) {
    throw new Error(
      `the app defines ${stacks.length} stacks (${stacks.map(([id]) => id).join(', ') || 'none'}); a demo app defines exactly one`,
    );
  }
  const templateFile = stacks[0]![1].properties?.templateFile;
  if (!templateFile) throw new Error('the stack artifact names no template file');
  const template = JSON.parse(readFileSync(path.join(dir, templateFile), 'utf8')) as unknown;
  const assets: FileAsset[] = [];
  for (const [, a] of artifacts.filter(([, a]) => a.type === 'cdk:asset-manifest')) {
    const m = JSON.parse(readFileSync(path.join(dir, a.properties?.file ?? ''), 'utf8')) as AssetManifest;
    if (Object.keys(m.dockerImages ?? {}).length > 0)
      throw new Error('Docker image assets are not supported');
    for (const [id, f] of Object.entries(m.files ?? {})) {
      const dest = Object.values(f.destinations)[0];
      if (!f.source.path || !dest) throw new Error(`asset ${id} has no source file or destination`);
      const packaging = f.source.packaging === 'zip' ? 'zip' : 'file';
      assets.push({ id, path: path.resolve(dir, f.source.path), packaging, objectKey: dest.objectKey });
    }
  }
  return { templateBody: JSON.stringify(template), assets };
}
