/**
 * The stack synthesizer of demo apps: no `cdk bootstrap`, no AWS call. A file asset goes to the
 * demo's own asset bucket, which the stack receives as the parameter {@link ASSET_BUCKET_PARAMETER};
 * the object key is the asset's content hash, so the worker can upload before the stack exists.
 * Docker image assets are refused: demos bundle Lambda code as plain files or with esbuild.
 */
import {
  AssetManifestBuilder,
  CfnParameter,
  Fn,
  StackSynthesizer,
  type DockerImageAssetLocation,
  type FileAssetLocation,
  type FileAssetSource,
  type IReusableStackSynthesizer,
  type ISynthesisSession,
  type Stack,
} from 'aws-cdk-lib';
import { ASSET_BUCKET_PARAMETER } from '../../config/scenarios';

export class DemoAssetSynthesizer extends StackSynthesizer implements IReusableStackSynthesizer {
  private readonly manifest = new AssetManifestBuilder();
  private bucket?: CfnParameter;

  /** One synthesizer per stack: the App's default is copied for each stack that binds it. */
  reusableBind(stack: Stack): DemoAssetSynthesizer {
    const copy = new DemoAssetSynthesizer();
    copy.bind(stack);
    return copy;
  }

  override addFileAsset(asset: FileAssetSource): FileAssetLocation {
    if (asset.executable) {
      throw new Error(
        `asset ${asset.sourceHash}: assets built by a command are not supported; bundle Lambda code from files or with esbuild`,
      );
    }
    if (!asset.fileName) throw new Error(`asset ${asset.sourceHash}: no file name`);
    const stack = this.boundStack;
    this.bucket ??= new CfnParameter(stack, ASSET_BUCKET_PARAMETER, {
      type: 'String',
      description: 'The demo asset bucket (filled in by the sv0 worker)',
    });
    const dest = this.manifest.defaultAddFileAsset(stack, asset, {
      bucketName: `\${${ASSET_BUCKET_PARAMETER}}`,
    });
    const bucketName = this.bucket.valueAsString;
    return {
      bucketName,
      objectKey: dest.objectKey,
      httpUrl: Fn.join('', [
        'https://s3.',
        stack.region,
        '.',
        stack.urlSuffix,
        '/',
        bucketName,
        '/',
        dest.objectKey,
      ]),
      s3ObjectUrl: Fn.join('', ['s3://', bucketName, '/', dest.objectKey]),
    };
  }

  override addDockerImageAsset(): DockerImageAssetLocation {
    throw new Error('Docker image assets are not supported in demo apps (no Docker bundling)');
  }

  override synthesize(session: ISynthesisSession): void {
    this.synthesizeTemplate(session);
    const deps = this.manifest.hasAssets ? [this.manifest.emitManifest(this.boundStack, session)] : [];
    this.emitArtifact(session, { additionalDependencies: deps });
  }
}
