import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import type Docker from 'dockerode';
import { PassThrough } from 'node:stream';

/** Activities for the stack check: STS on the configured AWS endpoint, a container on the engine. */
export function createSmokeActivities(deps: { sts: STSClient; docker: Docker }) {
  return {
    async whoAmI(): Promise<{ account: string; arn: string }> {
      const out = await deps.sts.send(new GetCallerIdentityCommand({}));
      return { account: out.Account ?? '', arn: out.Arn ?? '' };
    },

    async runContainer(input: {
      image: string;
      command: string[];
    }): Promise<{ exitCode: number; output: string }> {
      const container = await deps.docker.createContainer({
        Image: input.image,
        // The command replaces the image's entrypoint, so any small image will do.
        Entrypoint: input.command,
        Labels: { 'sv0.purpose': 'smoke' },
        HostConfig: { AutoRemove: false },
      });
      try {
        const stream = await container.attach({ stream: true, stdout: true, stderr: true });
        const out = new PassThrough();
        const chunks: Buffer[] = [];
        out.on('data', (c: Buffer) => chunks.push(c));
        container.modem.demuxStream(stream, out, out);
        await container.start();
        const { StatusCode } = (await container.wait()) as { StatusCode: number };
        return { exitCode: StatusCode, output: Buffer.concat(chunks).toString('utf8').trim() };
      } finally {
        await container.remove({ force: true }).catch(() => undefined);
      }
    },
  };
}
