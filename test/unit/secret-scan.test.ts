import { describe, expect, it } from 'vitest';
import { secretForms } from '../harness/secret-scan';

describe('secretForms', () => {
  const secret = 'sk-live-9f8e7d6c5b4a';
  const contains = (haystack: string) => secretForms(secret).some((f) => haystack.includes(f.text));

  it.each([0, 1, 2, 3, 4])(
    'finds the secret inside a longer base64 blob after %i leading bytes',
    (offset) => {
      const blob = Buffer.concat([Buffer.alloc(offset, 0x41), Buffer.from(secret), Buffer.from('tail')]);
      expect(contains(blob.toString('base64'))).toBe(true);
      expect(contains(blob.toString('base64url'))).toBe(true);
    },
  );

  it('finds the plain form, and nothing in unrelated text', () => {
    expect(contains(`{"token":"${secret}"}`)).toBe(true);
    expect(contains('sk-live-0000 and some other base64 c2stbGl2ZS0w')).toBe(false);
  });
});
