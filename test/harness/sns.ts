import { spawnSync } from 'node:child_process';
import { createSign, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  snsStringToSign,
  type CertificateDownload,
  type SnsEnvelope,
  type SnsMessageType,
} from '../../lib/runtime/sns-signature';
import { stack } from './stack';

/**
 * SNS signing for tests: a certificate made for the test (openssl) that signs messages the way SNS
 * does, and a certificate download that serves moto's own signing certificates, so deliveries
 * from moto's SNS verify for real.
 */

/** An RSA key and a self-signed certificate (CN sns.amazonaws.com, like SNS's), made with openssl. */
export interface TestSigner {
  keyPem: string;
  certPem: string;
  /** A SigningCertURL of SNS's shape on an SNS host; {@link TestSigner.download} serves the certificate for it. */
  certUrl: string;
  /** A download that answers the certificate for {@link TestSigner.certUrl} and counts its calls. */
  download: CertificateDownload & { calls: string[] };
}

export function makeTestSigner(region = 'us-east-1'): TestSigner {
  const dir = mkdtempSync(path.join(tmpdir(), 'sv0-sns-'));
  try {
    const result = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        'key.pem',
        '-out',
        'cert.pem',
        '-days',
        '2',
        '-subj',
        '/CN=sns.amazonaws.com',
      ],
      { cwd: dir, encoding: 'utf8' },
    );
    if (result.status !== 0) throw new Error(`openssl req failed: ${result.stderr}`);
    const keyPem = readFileSync(path.join(dir, 'key.pem'), 'utf8');
    const certPem = readFileSync(path.join(dir, 'cert.pem'), 'utf8');
    const certUrl = `https://sns.${region}.amazonaws.com/SimpleNotificationService-${randomBytes(16).toString('hex')}.pem`;
    const calls: string[] = [];
    const download = Object.assign(
      (url: URL) => {
        calls.push(url.href);
        return url.href === certUrl
          ? Promise.resolve(certPem)
          : Promise.reject(new Error(`no certificate at ${url.href}`));
      },
      { calls },
    );
    return { keyPem, certPem, certUrl, download };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The fields a test gives; the rest get SNS-like defaults. */
export type UnsignedSnsMessage = Partial<Omit<SnsEnvelope, 'Signature'>> & {
  Type: SnsMessageType;
  TopicArn: string;
};

/** Sign a message as SNS does (SignatureVersion 1: SHA1, 2: SHA256) with the test's key. */
export function signSnsMessage(signer: TestSigner, fields: UnsignedSnsMessage): SnsEnvelope {
  const message = {
    MessageId: randomUUID(),
    Message: '',
    Timestamp: new Date().toISOString(),
    SignatureVersion: '2',
    SigningCertURL: signer.certUrl,
    ...fields,
    Signature: '',
  } as SnsEnvelope;
  const algorithm = message.SignatureVersion === '1' ? 'RSA-SHA1' : 'RSA-SHA256';
  message.Signature = createSign(algorithm)
    .update(snsStringToSign(message), 'utf8')
    .sign(signer.keyPem, 'base64');
  return message;
}

/**
 * moto's signing certificates. moto signs each HTTP delivery with a certificate it serves at the
 * path of `SigningCertURL` on its own endpoint; an unsigned GET there is routed to S3, so the
 * request carries an Authorization header scoped to SNS (moto routes by it and checks no
 * signature). The SNS host check in front of this download is the production one.
 */
export function motoCertificateDownload(
  endpoint = stack().motoEndpoint,
): CertificateDownload & { calls: string[] } {
  const calls: string[] = [];
  return Object.assign(
    async (url: URL) => {
      calls.push(url.href);
      const region = url.hostname.split('.')[1] ?? 'us-east-1';
      const res = await fetch(`${endpoint}${url.pathname}`, {
        headers: {
          authorization: `AWS4-HMAC-SHA256 Credential=testing/20260101/${region}/sns/aws4_request, SignedHeaders=host, Signature=0`,
        },
      });
      if (!res.ok) throw new Error(`moto answered HTTP ${res.status} for ${url.pathname}`);
      return res.text();
    },
    { calls },
  );
}
