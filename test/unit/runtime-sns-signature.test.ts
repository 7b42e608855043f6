import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkSnsUrl,
  createSnsVerifier,
  parseSnsEnvelope,
  snsStringToSign,
  type SnsEnvelope,
} from '../../lib/runtime/sns-signature';
import { makeTestSigner, signSnsMessage, type TestSigner } from '../harness/sns';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:sv0-budget-alerts';
const SUBSCRIBE_URL = `https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=2336412f37fb687f5d51e6e2425c464de12884ee`;

describe('SNS message signatures', () => {
  let signer: TestSigner;
  let other: TestSigner;
  beforeAll(() => {
    signer = makeTestSigner();
    other = makeTestSigner();
  });

  const samples = (): SnsEnvelope[] => [
    signSnsMessage(signer, {
      Type: 'Notification',
      TopicArn: TOPIC,
      Message: 'Budget Name: total',
      SignatureVersion: '1',
    }),
    signSnsMessage(signer, {
      Type: 'Notification',
      TopicArn: TOPIC,
      Message: 'Budget Name: total\nAlert Type: ACTUAL',
      Subject: 'AWS Budgets: total has exceeded your alert threshold',
      SignatureVersion: '2',
    }),
    signSnsMessage(signer, {
      Type: 'SubscriptionConfirmation',
      TopicArn: TOPIC,
      Message: 'You have chosen to subscribe to the topic',
      SubscribeURL: SUBSCRIBE_URL,
      Token: '2336412f37fb687f5d51e6e2425c464de12884ee',
      SignatureVersion: '1',
    }),
    signSnsMessage(signer, {
      Type: 'UnsubscribeConfirmation',
      TopicArn: TOPIC,
      Message: 'You have unsubscribed',
      SubscribeURL: SUBSCRIBE_URL,
      Token: '2336412f37fb687f5d51e6e2425c464de12884ee',
      SignatureVersion: '2',
    }),
  ];

  it('signs the fields of each type in SNS order (Subject only when given)', () => {
    const base = {
      MessageId: 'id-1',
      Message: 'm',
      Timestamp: 't',
      TopicArn: TOPIC,
      SignatureVersion: '2',
      Signature: '',
      SigningCertURL: '',
    } as const;
    expect(snsStringToSign({ ...base, Type: 'Notification' })).toBe(
      `Message\nm\nMessageId\nid-1\nTimestamp\nt\nTopicArn\n${TOPIC}\nType\nNotification\n`,
    );
    expect(snsStringToSign({ ...base, Type: 'Notification', Subject: 's' })).toBe(
      `Message\nm\nMessageId\nid-1\nSubject\ns\nTimestamp\nt\nTopicArn\n${TOPIC}\nType\nNotification\n`,
    );
    expect(
      snsStringToSign({ ...base, Type: 'SubscriptionConfirmation', SubscribeURL: 'u', Token: 'k' }),
    ).toBe(
      `Message\nm\nMessageId\nid-1\nSubscribeURL\nu\nTimestamp\nt\nToken\nk\nTopicArn\n${TOPIC}\nType\nSubscriptionConfirmation\n`,
    );
  });

  it('verifies every type with SignatureVersion 1 (SHA1) and 2 (SHA256), downloading the certificate once', async () => {
    const verifier = createSnsVerifier({ download: signer.download });
    for (const message of samples())
      await expect(verifier.verify(parseSnsEnvelope(JSON.stringify(message)))).resolves.toBeUndefined();
    expect(verifier.downloads).toBe(1);
  });

  const changes: [string, (m: SnsEnvelope) => SnsEnvelope][] = [
    ['Message changed', (m) => ({ ...m, Message: `${m.Message} ` })],
    ['MessageId changed', (m) => ({ ...m, MessageId: 'another' })],
    ['Timestamp changed', (m) => ({ ...m, Timestamp: '2030-01-01T00:00:00.000Z' })],
    ['TopicArn changed', (m) => ({ ...m, TopicArn: `${TOPIC}-2` })],
    ['Subject added', (m) => ({ ...m, Subject: 'added' })],
    [
      'Type changed',
      (m) => ({
        ...m,
        Type: m.Type === 'Notification' ? 'UnsubscribeConfirmation' : 'Notification',
        SubscribeURL: SUBSCRIBE_URL,
        Token: 'x',
      }),
    ],
    ['SignatureVersion changed', (m) => ({ ...m, SignatureVersion: m.SignatureVersion === '1' ? '2' : '1' })],
    [
      'signature of another key',
      (m) => ({
        ...m,
        Signature: signSnsMessage(other, { ...m, SigningCertURL: m.SigningCertURL }).Signature,
      }),
    ],
    ['signature garbage', (m) => ({ ...m, Signature: 'AAAA' })],
  ];
  it.each(changes)('refuses a notification with its %s', async (_name, change) => {
    const verifier = createSnsVerifier({ download: signer.download });
    const [notification] = samples();
    await expect(verifier.verify(change(notification!))).rejects.toThrow(/Signature: does not match/);
  });

  it.each([
    ['SubscribeURL', SUBSCRIBE_URL.replace('sns.us-east-1', 'sns.us-west-2')],
    ['Token', 'another-token'],
  ] as const)('refuses a subscription confirmation whose %s changed', async (field, value) => {
    const verifier = createSnsVerifier({ download: signer.download });
    const confirmation = samples()[2]!;
    await expect(verifier.verify({ ...confirmation, [field]: value })).rejects.toThrow(
      /Signature: does not match/,
    );
  });

  it.each([
    [
      'http',
      'http://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem',
      /not https/,
    ],
    [
      'another host',
      'https://evil.example.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem',
      /host evil.example.com/,
    ],
    [
      'an SNS look-alike',
      'https://sns.us-east-1.amazonaws.com.evil.example/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem',
      /is not sns/,
    ],
    [
      'a subdomain',
      'https://x.sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem',
      /is not sns/,
    ],
    [
      'a port',
      'https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem',
      /port/,
    ],
    [
      'credentials',
      'https://a:b@sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem',
      /credentials/,
    ],
    ['another path', 'https://sns.us-east-1.amazonaws.com/other.pem', /certificate path/],
    [
      'a query',
      'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem?x=1',
      /certificate path/,
    ],
    ['no URL', 'not a url', /not a URL/],
  ])('never downloads a certificate from %s', async (_name, url, reason) => {
    const verifier = createSnsVerifier({ download: signer.download });
    const before = signer.download.calls.length;
    const forged = signSnsMessage(signer, {
      Type: 'Notification',
      TopicArn: TOPIC,
      Message: 'x',
      SigningCertURL: url,
    });
    await expect(verifier.verify(forged)).rejects.toThrow(reason);
    expect(signer.download.calls.length).toBe(before);
    expect(verifier.downloads).toBe(0);
  });

  it('accepts the aws, aws-us-gov and aws-cn partitions’ SNS hosts', () => {
    for (const host of [
      'sns.eu-central-1.amazonaws.com',
      'sns.us-gov-west-1.amazonaws.com',
      'sns.cn-north-1.amazonaws.com.cn',
    ])
      expect(
        checkSnsUrl(
          'SigningCertURL',
          `https://${host}/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem`,
          'certificate',
        ).hostname,
      ).toBe(host);
  });

  it('refuses a certificate outside its validity and does not cache a failed download', async () => {
    const [notification] = samples();
    const late = createSnsVerifier({ download: signer.download, now: () => Date.now() + 30 * 24 * 3600_000 });
    await expect(late.verify(notification!)).rejects.toThrow(/not valid now/);

    let fail = true;
    const flaky = createSnsVerifier({
      download: (url) => (fail ? Promise.reject(new Error('network down')) : signer.download(url)),
    });
    await expect(flaky.verify(notification!)).rejects.toThrow(/network down/);
    fail = false;
    await expect(flaky.verify(notification!)).resolves.toBeUndefined();
    expect(flaky.downloads).toBe(2);

    const notPem = createSnsVerifier({ download: () => Promise.resolve('<html>') });
    await expect(notPem.verify(notification!)).rejects.toThrow(/not an X.509 certificate/);
  });

  it.each([
    ['not JSON', 'Budget Name: total', /not JSON/],
    ['an array', '[]', /not a JSON object/],
    ['an unknown Type', JSON.stringify({ Type: 'Other' }), /Type: expected one of/],
    [
      'no signature',
      JSON.stringify({
        Type: 'Notification',
        MessageId: '1',
        TopicArn: TOPIC,
        Message: 'm',
        Timestamp: 't',
        SignatureVersion: '2',
        SigningCertURL: 'u',
      }),
      /Signature: missing/,
    ],
    [
      'SignatureVersion 3',
      JSON.stringify({
        Type: 'Notification',
        MessageId: '1',
        TopicArn: TOPIC,
        Message: 'm',
        Timestamp: 't',
        SignatureVersion: '3',
        Signature: 's',
        SigningCertURL: 'u',
      }),
      /SignatureVersion/,
    ],
    [
      'a confirmation without Token',
      JSON.stringify({
        Type: 'SubscriptionConfirmation',
        MessageId: '1',
        TopicArn: TOPIC,
        Message: 'm',
        Timestamp: 't',
        SubscribeURL: 'u',
        SignatureVersion: '2',
        Signature: 's',
        SigningCertURL: 'u',
      }),
      /Token: missing/,
    ],
  ])('refuses %s before any check', (_name, body, reason) => {
    expect(() => parseSnsEnvelope(body)).toThrow(reason);
  });

  it('names no token or URL query in its errors', async () => {
    const verifier = createSnsVerifier({ download: signer.download });
    const confirmation = samples()[2]!;
    const errors: string[] = [];
    for (const m of [
      { ...confirmation, Token: 'changed-secret-token' },
      { ...confirmation, SigningCertURL: `${confirmation.SigningCertURL}?Token=${confirmation.Token}` },
    ])
      await verifier.verify(m).catch((e: Error) => errors.push(e.message));
    expect(errors).toHaveLength(2);
    for (const e of errors) expect(e).not.toMatch(/Token=|secret-token|2336412f/);
  });
});
