import { createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';
import { armor, Decrypter } from 'age-encryption';
import { isAlias, isMap, isScalar, isSeq, parseAllDocuments, type Node as YamlNode } from 'yaml';
import { SecretError } from './errors';

/**
 * In-process decryption of files encrypted by `sops` with age keys (tier 2), for dotenv, YAML
 * and JSON files.
 *
 * Why by hand: the npm packages that read SOPS files (`sops-age`) check each value's AES-GCM tag but
 * never verify the file's MAC, so a removed or added key, or a value moved between keys of the same
 * name, goes unnoticed. Spawning the `sops` binary would put the decrypted file on a pipe and make
 * the worker depend on a Go binary. The age part uses `age-encryption`; what is written here mirrors
 * getsops/sops v3.13 exactly: `aes/cipher.go` (value format, AAD = the key path), `sops.go`
 * `Tree.Decrypt` (walk order, which values enter the MAC, `ToBytes`), `decrypt/decrypt.go` (the MAC
 * is itself encrypted with the data key, its AAD the `lastmodified` time in RFC 3339) and
 * `stores/*` (where each format keeps its metadata).
 */

/** A tree as sops walks it: mappings keep their order; comments are not part of the MAC and are dropped. */
type SopsValue = string | number | boolean | null | SopsValue[] | SopsBranch;
interface SopsBranch {
  kind: 'branch';
  items: [string, SopsValue][];
}

export type SopsFormat = 'dotenv' | 'yaml' | 'json';

interface SopsMetadata {
  age: { recipient: string; enc: string }[];
  lastmodified: string;
  mac: string;
  unencryptedSuffix?: string;
  encryptedSuffix?: string;
  unencryptedRegex?: RegExp;
  encryptedRegex?: RegExp;
  macOnlyEncrypted: boolean;
}

/** sops' `MACOnlyEncryptedInitialization`: hashed first when `mac_only_encrypted` is set. */
const MAC_ONLY_ENCRYPTED_INIT = Buffer.from([
  0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b, 0x0b, 0x97,
  0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
]);

const ENC_PATTERN = /^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]/;

/** The format sops would pick from a file name. */
export function sopsFormatFor(file: string): SopsFormat {
  if (/\.json$/i.test(file)) return 'json';
  if (/\.ya?ml$/i.test(file)) return 'yaml';
  return 'dotenv';
}

/** Read the age identities (`AGE-SECRET-KEY-1...` lines) of a key file's text. */
export function ageIdentities(keyFileText: string): string[] {
  return keyFileText
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.startsWith('AGE-SECRET-KEY-'));
}

// ---------------------------------------------------------------------------------------------
// Loading: each format's tree and its metadata (stores/dotenv, stores/json, stores/yaml).

function fromYamlNode(node: YamlNode | null | undefined, what: string): SopsValue {
  if (node == null) return null;
  if (isAlias(node)) throw new SecretError(`${what}: YAML aliases are not supported in secret files`);
  if (isMap(node)) {
    const items: [string, SopsValue][] = node.items.map((pair) => {
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      if (typeof key !== 'string') throw new SecretError(`${what}: only string keys are supported`);
      return [key, fromYamlNode(pair.value as YamlNode | null, what)];
    });
    return { kind: 'branch', items };
  }
  if (isSeq(node)) return node.items.map((n) => fromYamlNode(n as YamlNode | null, what));
  if (isScalar(node)) {
    const v = node.value;
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
    throw new SecretError(`${what}: unsupported scalar type`);
  }
  throw new SecretError(`${what}: unsupported YAML node`);
}

function get(branch: SopsBranch, key: string): SopsValue | undefined {
  return branch.items.find(([k]) => k === key)?.[1];
}

function isBranch(v: SopsValue | undefined): v is SopsBranch {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && v.kind === 'branch';
}

/** Undo sops' dotenv metadata flattening (`age__list_0__map_enc` -> age[0].enc) for the keys we read. */
function unflatten(entries: [string, string][]): SopsBranch {
  const root: SopsBranch = { kind: 'branch', items: [] };
  for (const [flatKey, value] of entries) {
    const tokens = flatKey
      .split(/(?=__map_|__list_)/)
      .map((t) =>
        t.startsWith('__list_')
          ? Number(t.slice('__list_'.length))
          : t.startsWith('__map_')
            ? t.slice('__map_'.length)
            : t,
      );
    let node: SopsValue = root;
    tokens.forEach((token, i) => {
      const last = i === tokens.length - 1;
      const nextIsIndex = typeof tokens[i + 1] === 'number';
      if (typeof token === 'number') {
        const arr = node as SopsValue[];
        arr[token] ??= last ? value : nextIsIndex ? [] : { kind: 'branch', items: [] };
        node = arr[token] as SopsValue;
      } else {
        const b = node as SopsBranch;
        let child = get(b, token);
        if (child === undefined) {
          child = last ? value : nextIsIndex ? [] : { kind: 'branch', items: [] };
          b.items.push([token, child]);
        }
        node = child;
      }
    });
  }
  return root;
}

function loadTree(
  text: string,
  format: SopsFormat,
  what: string,
): { branches: SopsBranch[]; meta: SopsBranch } {
  if (format === 'dotenv') {
    // stores/dotenv: split on \n, skip empty lines and # comments, split at the first "=", and
    // turn a literal \n in a value into a newline. Keys starting with sops_ are the metadata.
    const data: [string, SopsValue][] = [];
    const meta: [string, string][] = [];
    text.split('\n').forEach((line, index) => {
      if (line.length === 0 || line.startsWith('#')) return;
      const pos = line.indexOf('=');
      if (pos === -1) throw new SecretError(`${what}: line ${index + 1} is not NAME=value`);
      const key = line.slice(0, pos);
      const value = line.slice(pos + 1).replaceAll('\\n', '\n');
      if (key.startsWith('sops_')) meta.push([key.slice('sops_'.length), value]);
      else data.push([key, value]);
    });
    if (meta.length === 0)
      throw new SecretError(`${what}: not a sops file (no sops metadata); encrypt it with sops --encrypt`);
    return { branches: [{ kind: 'branch', items: data }], meta: unflatten(meta) };
  }
  const docs = parseAllDocuments(text, { uniqueKeys: true });
  if (!Array.isArray(docs)) throw new SecretError(`${what}: empty file`);
  const branches: SopsBranch[] = [];
  let meta: SopsBranch | undefined;
  docs.forEach((doc, i) => {
    if (doc.errors.length > 0)
      throw new SecretError(
        `${what}: not valid ${format.toUpperCase()} (${doc.errors[0]?.message.split('\n')[0]})`,
      );
    const tree = fromYamlNode(doc.contents as YamlNode | null, what);
    if (!isBranch(tree)) throw new SecretError(`${what}: the top level must be a mapping`);
    const sopsIndex = tree.items.findIndex(([k]) => k === 'sops');
    if (sopsIndex >= 0) {
      const [, value] = tree.items.splice(sopsIndex, 1)[0] as [string, SopsValue];
      if (i === 0) {
        if (!isBranch(value)) throw new SecretError(`${what}: the sops metadata is not a mapping`);
        meta = value;
      }
    }
    branches.push(tree);
  });
  if (!meta)
    throw new SecretError(`${what}: not a sops file (no sops metadata); encrypt it with sops --encrypt`);
  return { branches, meta };
}

function readMetadata(meta: SopsBranch, what: string): SopsMetadata {
  const str = (key: string): string | undefined => {
    const v = get(meta, key);
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const ageList = (v: SopsValue | undefined): { recipient: string; enc: string }[] =>
    (Array.isArray(v) ? v : []).flatMap((k) =>
      isBranch(k) && typeof get(k, 'recipient') === 'string' && typeof get(k, 'enc') === 'string'
        ? [{ recipient: get(k, 'recipient') as string, enc: get(k, 'enc') as string }]
        : [],
    );
  let age = ageList(get(meta, 'age'));
  const groups = get(meta, 'key_groups');
  if (age.length === 0 && Array.isArray(groups)) {
    // Several key groups split the data key with Shamir's scheme; one group is a plain key list.
    if (groups.length > 1)
      throw new SecretError(`${what}: files with several key groups (Shamir) are not supported`);
    const group = groups[0];
    age = isBranch(group) ? ageList(get(group, 'age')) : [];
  }
  if (age.length === 0)
    throw new SecretError(`${what}: the file has no age recipient; encrypt it with sops --age`);
  const lastmodified = str('lastmodified');
  if (!lastmodified) throw new SecretError(`${what}: the sops metadata has no lastmodified`);
  const mac = str('mac');
  if (!mac)
    throw new SecretError(`${what}: refused, the file has no MAC, so its integrity cannot be verified`);
  if (str('unencrypted_comment_regex') || str('encrypted_comment_regex')) {
    throw new SecretError(`${what}: files encrypted with a comment regex are not supported`);
  }
  const rules = ['unencrypted_suffix', 'encrypted_suffix', 'unencrypted_regex', 'encrypted_regex'].filter(
    (k) => str(k),
  );
  if (rules.length > 1)
    throw new SecretError(`${what}: the metadata sets more than one of ${rules.join(', ')}`);
  const regex = (key: string): RegExp | undefined => {
    const source = str(key);
    if (!source) return undefined;
    try {
      return new RegExp(source);
    } catch {
      throw new SecretError(
        `${what}: the metadata's ${key} is not a regular expression this worker can read`,
      );
    }
  };
  const macOnly = get(meta, 'mac_only_encrypted');
  return {
    age,
    lastmodified,
    mac,
    // sops: with no rule at all, the default is an unencrypted suffix of "_unencrypted".
    unencryptedSuffix: str('unencrypted_suffix') ?? (rules.length === 0 ? '_unencrypted' : undefined),
    encryptedSuffix: str('encrypted_suffix'),
    unencryptedRegex: regex('unencrypted_regex'),
    encryptedRegex: regex('encrypted_regex'),
    macOnlyEncrypted: macOnly === true || macOnly === 'true',
  };
}

// ---------------------------------------------------------------------------------------------
// Decryption (aes/cipher.go) and the MAC (sops.go Tree.Decrypt).

/** sops.go `shouldBeEncrypted`, without the comment rules (refused when loading). */
function shouldBeEncrypted(meta: SopsMetadata, path: string[]): boolean {
  let encrypted = true;
  if (meta.unencryptedSuffix && path.some((p) => p.endsWith(meta.unencryptedSuffix as string)))
    encrypted = false;
  if (meta.encryptedSuffix) encrypted = path.some((p) => p.endsWith(meta.encryptedSuffix as string));
  if (meta.unencryptedRegex && path.some((p) => (meta.unencryptedRegex as RegExp).test(p))) encrypted = false;
  if (meta.encryptedRegex) encrypted = path.some((p) => (meta.encryptedRegex as RegExp).test(p));
  return encrypted;
}

interface Decrypted {
  /** The plaintext as sops' `ToBytes` gives it (sops writes canonical text, so it is the stored text). */
  bytes: Buffer;
  type: string;
}

/** aes/cipher.go `Decrypt`: AES-256-GCM, the IV as stored (32 bytes), the AAD the key path. */
function decryptValue(value: string, key: Buffer, aad: string): Decrypted {
  if (value === '') return { bytes: Buffer.alloc(0), type: 'str' };
  const m = ENC_PATTERN.exec(value);
  if (!m) throw new Error('the value is not in sops format');
  const [data, iv, tag] = [m[1], m[2], m[3]].map((s) => Buffer.from(s as string, 'base64'));
  const decipher = createDecipheriv('aes-256-gcm', key, iv as Buffer);
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tag as Buffer);
  const bytes = Buffer.concat([decipher.update(data as Buffer), decipher.final()]);
  return { bytes, type: m[4] as string };
}

/** sops.go `ToBytes` for values stored in clear (unencrypted suffix or regex). */
function clearBytes(v: string | number | boolean): Buffer {
  if (typeof v === 'boolean') return Buffer.from(v ? 'True' : 'False');
  // Go formats floats with FormatFloat(v, 'f', -1, 64): never an exponent.
  if (typeof v === 'number') return Buffer.from(Number.isInteger(v) ? BigInt(v).toString() : v.toString());
  return Buffer.from(v, 'utf8');
}

/** sops' value types as an environment variable carries them. */
function envText(d: Decrypted): string {
  const text = d.bytes.toString('utf8');
  if (d.type === 'bool') return text.toLowerCase() === 'true' ? 'true' : 'false';
  return text;
}

interface WalkResult {
  mac: string;
  /** Top-level scalar values of the first document, decrypted. */
  values: Record<string, string>;
  nested: string[];
}

function walkTree(branches: SopsBranch[], meta: SopsMetadata, key: Buffer, what: string): WalkResult {
  const hash = createHash('sha512');
  if (meta.macOnlyEncrypted) hash.update(MAC_ONLY_ENCRYPTED_INIT);
  const values: Record<string, string> = {};
  const nested: string[] = [];

  const leaf = (v: string | number | boolean, path: string[]): string => {
    const encrypted = shouldBeEncrypted(meta, path);
    let d: Decrypted;
    if (encrypted) {
      if (typeof v !== 'string')
        throw new SecretError(`${what}: ${path.join('.')}: expected an encrypted value`);
      try {
        d = decryptValue(v, key, `${path.join(':')}:`);
      } catch {
        throw new SecretError(
          `${what}: refused, the value of ${path.join('.')} fails authentication (the file was altered or the key is wrong)`,
        );
      }
    } else {
      d = { bytes: clearBytes(v), type: typeof v === 'boolean' ? 'bool' : 'str' };
    }
    if (!meta.macOnlyEncrypted || encrypted) hash.update(d.bytes);
    return envText(d);
  };
  const walk = (v: SopsValue, path: string[]): void => {
    if (v === null) return; // sops: nil values are neither decrypted nor hashed
    if (Array.isArray(v)) {
      v.forEach((item) => walk(item, path)); // list items share their parent's path
    } else if (isBranch(v)) {
      for (const [k, child] of v.items) walk(child, [...path, k]);
    } else {
      leaf(v, path);
    }
  };

  branches.forEach((branch, bi) => {
    for (const [k, v] of branch.items) {
      if (v === null) continue;
      if (bi === 0 && typeof v !== 'object') {
        values[k] = leaf(v, [k]);
      } else {
        nested.push(bi === 0 ? k : `document ${bi + 1}`);
        walk(v, [k]);
      }
    }
  });
  return { mac: hash.digest('hex').toUpperCase(), values, nested };
}

/** Go's `time.Parse(RFC3339)` then `Format(RFC3339)`: fractions dropped, a zero offset written Z. */
function normalizeRfc3339(text: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/i.exec(text);
  if (!m) return text;
  const zone = m[3] as string;
  return `${m[1]}${/^(z|[+-]00:00)$/i.test(zone) ? 'Z' : zone}`;
}

async function dataKey(
  meta: SopsMetadata,
  identities: string[],
  what: string,
  keyFile: string,
): Promise<Buffer> {
  const decrypter = new Decrypter();
  for (const identity of identities) decrypter.addIdentity(identity);
  for (const stanza of meta.age) {
    try {
      const key = await decrypter.decrypt(armor.decode(stanza.enc));
      if (key.length === 32) return Buffer.from(key);
    } catch {
      // Not ours: try the next recipient.
    }
  }
  throw new SecretError(
    `${what}: refused, no key in ${keyFile} decrypts it (the file is encrypted for ${meta.age.map((a) => a.recipient).join(', ')})`,
  );
}

/**
 * Decrypt a sops file's text and verify its MAC. Returns the top-level values of the (first)
 * document as strings; nested values are verified but refused as environment variables.
 * @param what names the file in errors, e.g. `connector aws: sops file /etc/sv0/aws.env.enc`.
 */
export async function decryptSops(
  text: string,
  opts: { format: SopsFormat; identities: string[]; keyFile: string; what: string },
): Promise<Record<string, string>> {
  const { what } = opts;
  if (opts.identities.length === 0)
    throw new SecretError(`${what}: the age key file ${opts.keyFile} holds no AGE-SECRET-KEY`);
  const { branches, meta: metaTree } = loadTree(text, opts.format, what);
  const meta = readMetadata(metaTree, what);
  const key = await dataKey(meta, opts.identities, what, opts.keyFile);
  const { mac, values, nested } = walkTree(branches, meta, key, what);

  let stored: Buffer;
  try {
    stored = decryptValue(meta.mac, key, normalizeRfc3339(meta.lastmodified)).bytes;
  } catch {
    throw new SecretError(`${what}: refused, its MAC fails authentication (the metadata was altered)`);
  }
  const computed = Buffer.from(mac, 'utf8');
  if (stored.length !== computed.length || !timingSafeEqual(stored, computed)) {
    throw new SecretError(
      `${what}: refused, the MAC does not match the content (keys or values were added, removed or changed)`,
    );
  }
  if (nested.length > 0) {
    throw new SecretError(
      `${what}: ${[...new Set(nested)].join(', ')}: nested values and further documents cannot become environment variables; keep the file flat`,
    );
  }
  return values;
}
