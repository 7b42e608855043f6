import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ResolveAllResponse } from '@1password/sdk';
import type { OnePasswordClient, OnePasswordProvider } from '../../activities/secrets/onepassword';
import type { StackTools } from '../../scripts/local-stack';

/** A new age key pair made with the real `age-keygen` (the key file is 0600, as it writes it). */
export function makeAgeKey(tools: Pick<StackTools, 'ageKeygen'>, dir: string, name = 'age-key.txt') {
  const keyFile = path.join(dir, name);
  execFileSync(tools.ageKeygen, ['-o', keyFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  chmodSync(keyFile, 0o600);
  const recipient = /public key: (age1[0-9a-z]+)/.exec(readFileSync(keyFile, 'utf8'))?.[1];
  if (!recipient) throw new Error(`age-keygen wrote no public key in ${keyFile}`);
  return { keyFile, recipient };
}

/**
 * Encrypt `plain` with the real `sops` for `recipient` and write it to `file`. The format is given
 * explicitly, as an operator's `sops --encrypt --input-type` would.
 */
export function sopsEncrypt(
  tools: Pick<StackTools, 'sops'>,
  opts: {
    plain: string;
    file: string;
    format: 'dotenv' | 'yaml' | 'json';
    recipient: string;
    extraArgs?: string[];
  },
): string {
  const plainFile = `${opts.file}.plain`;
  writeFileSync(plainFile, opts.plain, { mode: 0o600 });
  const out = execFileSync(
    tools.sops,
    [
      '--encrypt',
      '--age',
      opts.recipient,
      '--input-type',
      opts.format,
      '--output-type',
      opts.format,
      ...(opts.extraArgs ?? []),
      plainFile,
    ],
    // An empty environment apart from PATH: no operator config or keys leak into the test.
    {
      cwd: path.dirname(opts.file),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: path.dirname(opts.file) },
      encoding: 'utf8',
    },
  );
  writeFileSync(opts.file, out, { mode: 0o644 });
  return out;
}

/**
 * A 1Password client of the SDK's shape (the one allowed stand-in): it knows `values`; any other
 * reference gets the error the SDK gives in its individual response (it does not throw).
 */
export function fakeOnePassword(values: Record<string, string>) {
  const calls: string[][] = [];
  const client: OnePasswordClient = {
    secrets: {
      async resolveAll(references: string[]): Promise<ResolveAllResponse> {
        calls.push([...references]);
        const individualResponses: ResolveAllResponse['individualResponses'] = {};
        for (const ref of references) {
          individualResponses[ref] =
            ref in values
              ? { content: { secret: values[ref] as string, itemId: 'item', vaultId: 'vault' } }
              : { error: { type: 'itemNotFound' } };
        }
        return { individualResponses };
      },
    },
  };
  const provider: OnePasswordProvider = async () => client;
  return { provider, calls };
}
