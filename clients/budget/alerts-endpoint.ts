/**
 * The HTTP endpoint an SNS subscription posts budget alerts to (`sv0 budget alerts-endpoint`).
 *
 * Only a message that SNS signed, from an allowed topic, changes anything: a verified Notification
 * tells the named budget's guard to check now, a verified SubscriptionConfirmation is confirmed by
 * visiting its SubscribeURL. Everything else is refused with 403 before any signal, confirmation
 * or certificate download. Bodies are size-capped and requests rate-limited, so a flood costs a
 * counter, not a Temporal call.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { BudgetAlertError, budgetAlertFromText } from '../../lib/budget-alert';
import {
  checkSnsUrl,
  createSnsVerifier,
  parseSnsEnvelope,
  SnsSignatureError,
  type SnsEnvelope,
  type SnsVerifier,
} from '../../lib/runtime/sns-signature';
import { errorMessage } from '../errors';
import { say } from '../output';
import { signalBudgetAlert } from './guards';

/** An SNS topic ARN (aws, aws-cn and aws-us-gov partitions). */
export const SNS_TOPIC_ARN = /^arn:aws(-cn|-us-gov)?:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$/;

export interface BudgetAlertEndpointOptions {
  /** The topics whose messages are accepted; at least one. */
  topicArns: readonly string[];
  /** Checks signatures and caches certificates; tests pass one whose download they control. @default createSnsVerifier() */
  verifier?: SnsVerifier;
  /** Visits a verified SubscribeURL. @default an HTTPS GET without redirects */
  confirm?: (url: URL) => Promise<{ ok: boolean; status: number }>;
  /** Largest body accepted (SNS's budget notifications are about 1 KiB). @default 65536 */
  maxBodyBytes?: number;
  /** At most `requests` per `perSeconds` (a token bucket over all clients); the rest get 429. @default 60 per 60 s */
  rateLimit?: { requests: number; perSeconds: number };
  /** One line per request: status and reason, never a token or signature. @default stderr */
  log?: (line: string) => void;
}

const defaultConfirm = async (url: URL) => {
  const res = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(10_000) });
  await res.body?.cancel();
  return { ok: res.ok, status: res.status };
};

/** A token bucket: `take()` is false once the budget of requests is spent, until it refills. */
function tokenBucket(capacity: number, perSeconds: number, now = Date.now) {
  let tokens = capacity;
  let last = now();
  return {
    take(): boolean {
      const t = now();
      tokens = Math.min(capacity, tokens + ((t - last) / 1000) * (capacity / perSeconds));
      last = t;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}

class TooLarge extends Error {}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new TooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new TooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A value from a message, safe to log: quoted, single-line, short. */
const shown = (value: string) => JSON.stringify(value.slice(0, 120));

/**
 * Handle one confirmation: the URL must be SNS's own ConfirmSubscription for the message's topic
 * (the signature covers it, this keeps a mistake in SNS's or our parsing from going elsewhere).
 */
function subscribeUrl(message: SnsEnvelope): URL {
  const url = checkSnsUrl('SubscribeURL', message.SubscribeURL ?? '', 'api');
  if (
    url.searchParams.get('Action') !== 'ConfirmSubscription' ||
    url.searchParams.get('TopicArn') !== message.TopicArn
  )
    throw new SnsSignatureError("SubscribeURL: not a ConfirmSubscription of the message's topic");
  return url;
}

/**
 * A request listener for an SNS HTTP(S) subscription to the budget alerts topic; mount it on any
 * `http.createServer`. Answers: 202 a guard was signalled, 200 a subscription confirmed or a
 * message ignored, 403 not verified or not an allowed topic, 404 no guard runs for the budget,
 * 405 not a POST, 413 too large, 429 rate-limited, 502 SNS refused the confirmation.
 */
export function createBudgetAlertHandler(client: Client, opts: BudgetAlertEndpointOptions): RequestListener {
  const topics = new Set(opts.topicArns);
  if (topics.size === 0) throw new Error('createBudgetAlertHandler: no topic ARN is allowed');
  for (const arn of topics)
    if (!SNS_TOPIC_ARN.test(arn))
      throw new Error(`createBudgetAlertHandler: ${shown(arn)} is not an SNS topic ARN`);
  const verifier = opts.verifier ?? createSnsVerifier();
  const confirm = opts.confirm ?? defaultConfirm;
  const maxBody = opts.maxBodyBytes ?? 64 * 1024;
  const bucket = tokenBucket(opts.rateLimit?.requests ?? 60, opts.rateLimit?.perSeconds ?? 60);
  const log = opts.log ?? ((line: string) => say(line));

  const handle = async (req: IncomingMessage): Promise<[number, string]> => {
    if (req.method !== 'POST') return [405, 'POST an SNS message'];
    if (!bucket.take()) return [429, 'too many requests; try again later'];
    let message: SnsEnvelope;
    try {
      message = parseSnsEnvelope(await readBody(req, maxBody));
      if (!topics.has(message.TopicArn))
        throw new SnsSignatureError(`TopicArn: ${shown(message.TopicArn)} is not an allowed topic`);
      await verifier.verify(message);
    } catch (err) {
      if (err instanceof TooLarge) return [413, `the body is larger than ${maxBody} bytes`];
      if (err instanceof SnsSignatureError) return [403, `not verified: ${err.message}`];
      // A download that failed on the way (not a refusal): SNS retries on 5xx.
      return [503, 'could not fetch the SNS signing certificate; try again later'];
    }
    if (message.Type === 'SubscriptionConfirmation') {
      let url: URL;
      try {
        url = subscribeUrl(message);
      } catch (err) {
        return [403, `not verified: ${(err as Error).message}`];
      }
      const answer = await confirm(url).catch(() => ({ ok: false, status: 0 }));
      return answer.ok
        ? [200, `subscription to ${message.TopicArn} confirmed`]
        : [502, `SNS answered ${answer.status || 'nothing'} to the confirmation`];
    }
    if (message.Type === 'UnsubscribeConfirmation')
      return [200, `ignored: unsubscribed from ${message.TopicArn}`];
    let alert;
    try {
      alert = budgetAlertFromText(message.Message, message.Subject);
    } catch (err) {
      if (err instanceof BudgetAlertError) return [200, `ignored: ${err.message}`];
      throw err;
    }
    try {
      const id = await signalBudgetAlert(client, alert.budgetName, {
        source: 'http',
        receivedAt: new Date().toISOString(),
        summary: alert.summary,
      });
      return [202, `signalled ${id}`];
    } catch (err) {
      if (err instanceof WorkflowNotFoundError)
        return [404, `no budget guard runs for budget ${shown(alert.budgetName)}`];
      throw err;
    }
  };

  return (req: IncomingMessage, res: ServerResponse) => {
    void handle(req)
      .catch((err: unknown): [number, string] => [
        500,
        `the endpoint failed: ${errorMessage(err).slice(0, 200)}`,
      ])
      .then(([status, text]) => {
        log(`budget alerts endpoint: ${status} ${text}`);
        if (status === 413 || status === 429) res.setHeader('connection', 'close');
        if (status === 429) res.setHeader('retry-after', '60');
        res.writeHead(status, { 'content-type': 'text/plain' }).end(`${text}\n`);
      });
  };
}
