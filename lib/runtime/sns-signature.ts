/**
 * Verify that a message posted to an HTTP(S) endpoint was signed by Amazon SNS.
 *
 * SNS signs every delivery (Notification, SubscriptionConfirmation, UnsubscribeConfirmation) with
 * the private key of a certificate it publishes at `SigningCertURL`: SignatureVersion 1 is
 * SHA1withRSA, 2 is SHA256withRSA, over a canonical string of the message's fields in a fixed
 * order. The certificate is trusted because it is fetched over HTTPS (Node checks the server's
 * chain against the system's CAs) from an SNS host, never from a host the message names freely.
 *
 * Written here rather than taken from npm: the validators there (`sns-validator`,
 * `sns-payload-validator`) download the certificate themselves, so tests could not hand them a
 * certificate made for the test or moto's deliveries, and the check is a few calls to node:crypto.
 */
import { X509Certificate, createVerify } from 'node:crypto';

/** The three message types SNS delivers to an HTTP(S) subscription. */
export const SNS_MESSAGE_TYPES = [
  'Notification',
  'SubscriptionConfirmation',
  'UnsubscribeConfirmation',
] as const;
export type SnsMessageType = (typeof SNS_MESSAGE_TYPES)[number];

/** An SNS delivery as posted to an HTTP(S) endpoint (the JSON body). */
export interface SnsEnvelope {
  Type: SnsMessageType;
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp: string;
  SignatureVersion: '1' | '2';
  Signature: string;
  SigningCertURL: string;
  /** Notification only, and only when the publisher gave one. */
  Subject?: string;
  /** SubscriptionConfirmation and UnsubscribeConfirmation only. */
  SubscribeURL?: string;
  /** SubscriptionConfirmation and UnsubscribeConfirmation only; a secret until confirmed. */
  Token?: string;
}

/**
 * A message that is not a well-formed, correctly signed SNS delivery. Its message names the field
 * and the reason, never the value of `Token`, `Signature` or a URL's query (which carries the token).
 */
export class SnsSignatureError extends Error {
  override name = 'SnsSignatureError';
}

/** The fields of the canonical string, in SNS's order, per message type. */
const SIGNED_FIELDS: Record<SnsMessageType, (keyof SnsEnvelope)[]> = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: [
    'Message',
    'MessageId',
    'SubscribeURL',
    'Timestamp',
    'Token',
    'TopicArn',
    'Type',
  ],
  UnsubscribeConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
};

const ALGORITHM = { '1': 'RSA-SHA1', '2': 'RSA-SHA256' } as const;

/**
 * Read an SNS HTTP body. Throws {@link SnsSignatureError} when it is not JSON, has an unknown
 * `Type` or `SignatureVersion`, or lacks a field that its type signs.
 */
export function parseSnsEnvelope(body: string): SnsEnvelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new SnsSignatureError('the body is not JSON, so it is no SNS delivery');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new SnsSignatureError('the body is not a JSON object, so it is no SNS delivery');
  const m = parsed as Record<string, unknown>;
  const type = m.Type;
  if (typeof type !== 'string' || !(SNS_MESSAGE_TYPES as readonly string[]).includes(type))
    throw new SnsSignatureError(`Type: expected one of ${SNS_MESSAGE_TYPES.join(', ')}`);
  const required = [
    ...SIGNED_FIELDS[type as SnsMessageType].filter((f) => f !== 'Subject'),
    'SignatureVersion',
    'Signature',
    'SigningCertURL',
  ];
  for (const f of required)
    if (typeof m[f] !== 'string' || m[f] === '')
      throw new SnsSignatureError(`${f}: missing or not a string, so the message cannot be verified`);
  if (m.Subject !== undefined && typeof m.Subject !== 'string')
    throw new SnsSignatureError('Subject: not a string');
  if (m.SignatureVersion !== '1' && m.SignatureVersion !== '2')
    throw new SnsSignatureError('SignatureVersion: expected "1" (SHA1) or "2" (SHA256)');
  return m as unknown as SnsEnvelope;
}

/** The string SNS signs: `name\nvalue\n` for each signed field present, in SNS's order. */
export function snsStringToSign(message: SnsEnvelope): string {
  let out = '';
  for (const f of SIGNED_FIELDS[message.Type]) {
    const value = message[f];
    if (value === undefined) continue;
    out += `${f}\n${value}\n`;
  }
  return out;
}

/**
 * Hosts that serve SNS signing certificates: `sns.<region>.amazonaws.com` (the aws and aws-us-gov
 * partitions) and `sns.<region>.amazonaws.com.cn` (aws-cn). Other partitions are not accepted.
 */
const SNS_HOST = /^sns\.[a-z]{2}(-[a-z]+)+-[0-9]{1,2}\.amazonaws\.com(\.cn)?$/;
/** SNS names its certificates `SimpleNotificationService-<32 hex>.pem`. */
const SNS_CERT_PATH = /^\/SimpleNotificationService-[0-9a-f]{32}\.pem$/;

/**
 * Check that a URL is an SNS HTTPS endpoint (no credentials, port or fragment): for
 * `SigningCertURL` (with `certificate`, also its path) and for `SubscribeURL`.
 * Throws {@link SnsSignatureError} naming the field and the host, never the query.
 */
export function checkSnsUrl(field: string, value: string, kind: 'certificate' | 'api'): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new SnsSignatureError(`${field}: not a URL`);
  }
  if (url.protocol !== 'https:') throw new SnsSignatureError(`${field}: not https (${url.protocol})`);
  if (url.username || url.password || url.port || url.hash)
    throw new SnsSignatureError(`${field}: carries credentials, a port or a fragment`);
  if (!SNS_HOST.test(url.hostname))
    throw new SnsSignatureError(`${field}: host ${url.hostname} is not sns.<region>.amazonaws.com`);
  if (kind === 'certificate' && (url.search || !SNS_CERT_PATH.test(url.pathname)))
    throw new SnsSignatureError(`${field}: not an SNS signing certificate path`);
  return url;
}

/** Downloads a certificate (PEM text) from a URL already checked to be SNS's. */
export type CertificateDownload = (url: URL) => Promise<string>;

/** Largest certificate accepted; SNS's are under 2 KiB. */
const MAX_CERT_BYTES = 16 * 1024;

/** The default download: HTTPS GET with no redirects, a timeout and a size cap. */
export const downloadCertificate: CertificateDownload = async (url) => {
  const res = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new SnsSignatureError(`SigningCertURL: ${url.hostname} answered HTTP ${res.status}`);
  const text = await res.text();
  if (text.length > MAX_CERT_BYTES) throw new SnsSignatureError('SigningCertURL: the answer is too large');
  return text;
};

export interface SnsVerifierOptions {
  /** How certificates are fetched; tests pass one that serves moto's or a test's own. @default {@link downloadCertificate} */
  download?: CertificateDownload;
  /** Certificates kept, by URL (SNS rotates them rarely). @default 16 */
  cacheSize?: number;
  /** The clock the certificate's validity is checked against. @default Date.now */
  now?: () => number;
}

/** Verifies SNS messages; holds the certificate cache. */
export interface SnsVerifier {
  /** Resolves when the message's signature is SNS's; throws {@link SnsSignatureError} otherwise. */
  verify(message: SnsEnvelope): Promise<void>;
  /** How many certificates were downloaded (each URL once while it stays cached). */
  readonly downloads: number;
}

/**
 * Make a verifier. The certificate URL is checked before anything is fetched, so a forged message
 * cannot make the endpoint connect anywhere but SNS; a failed download is not cached.
 */
export function createSnsVerifier(opts: SnsVerifierOptions = {}): SnsVerifier {
  const download = opts.download ?? downloadCertificate;
  const cacheSize = opts.cacheSize ?? 16;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, Promise<X509Certificate>>();
  let downloads = 0;

  const certificate = (url: URL): Promise<X509Certificate> => {
    const key = url.href;
    const cached = cache.get(key);
    if (cached) return cached;
    downloads++;
    const loading = download(url).then((pem) => {
      try {
        return new X509Certificate(pem);
      } catch {
        throw new SnsSignatureError('SigningCertURL: the answer is not an X.509 certificate');
      }
    });
    loading.catch(() => cache.delete(key));
    cache.set(key, loading);
    while (cache.size > cacheSize) cache.delete(cache.keys().next().value as string);
    return loading;
  };

  return {
    get downloads() {
      return downloads;
    },
    async verify(message) {
      const url = checkSnsUrl('SigningCertURL', message.SigningCertURL, 'certificate');
      const cert = await certificate(url);
      const t = now();
      if (t < Date.parse(cert.validFrom) || t > Date.parse(cert.validTo))
        throw new SnsSignatureError('SigningCertURL: the certificate is not valid now');
      const signature = Buffer.from(message.Signature, 'base64');
      const ok = createVerify(ALGORITHM[message.SignatureVersion])
        .update(snsStringToSign(message), 'utf8')
        .verify(cert.publicKey, signature);
      if (!ok) throw new SnsSignatureError('Signature: does not match the message and SNS certificate');
    },
  };
}
