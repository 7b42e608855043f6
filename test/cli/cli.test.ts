/** The `sv0` program itself, before any command: its version. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sv0 } from '../harness/cli';

const packageVersion = (
  JSON.parse(readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')) as { version: string }
).version;

describe('sv0 --version', () => {
  it.each(['--version', '-V'])('%s prints the package version alone and exits 0', async (flag) => {
    const r = await sv0(flag);
    expect(r).toMatchObject({ code: 0, stdout: `${packageVersion}\n`, stderr: '' });
  });
});
