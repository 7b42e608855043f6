import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import {
  NotifyInputSchema,
  type Notification,
  type NotificationsConfig,
  type SinkConfig,
} from '../lib/config/notifications';
import { secretReferenceRefusal, type WorkerSettings } from '../lib/config/worker';
import type { Logger } from '../lib/runtime/logger';
import { fetchQuietly, secretUrl } from './http';
import { refuseInput, validInput } from './input';
import { SecretRefusedError } from './secrets/errors';
import type { SecretResolver } from './secrets/resolve';

export interface NotifyDeps {
  sns: SNSClient;
  logger: Logger;
  /** Resolves the webhook URL's reference, here and only here. */
  secrets: Pick<SecretResolver, 'resolveSecret'>;
  /** What the worker allows: a sink's reference is checked against it before it is resolved. */
  settings: Pick<WorkerSettings, 'secrets'>;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** The Slack-compatible body: `text` for simple receivers, plus the structured fields. */
function webhookBody(n: Notification): Record<string, unknown> {
  const icon =
    n.severity === 'critical'
      ? ':rotating_light:'
      : n.severity === 'warning'
        ? ':warning:'
        : ':information_source:';
  const lines = Object.entries(n.fields ?? {}).map(([k, v]) => `• ${k}: ${String(v)}`);
  return {
    text: [`${icon} *${n.title}*`, n.text, ...lines].join('\n'),
    event: n.event,
    severity: n.severity,
    fields: n.fields ?? {},
  };
}

/**
 * Notifications through pluggable sinks (log, Slack-compatible webhook, SNS). Every sink is tried;
 * the activity fails (and retries) if any sink failed, naming the sink but never its URL.
 */
export function createNotifyActivities(deps: NotifyDeps) {
  const doFetch = deps.fetch ?? globalThis.fetch;

  async function send(sink: SinkConfig, n: Notification): Promise<void> {
    switch (sink.type) {
      case 'log':
        deps.logger.info({ notification: n }, `notify: ${n.title}`);
        return;
      case 'webhook': {
        const what = `webhook sink ${sink.name} (${sink.urlRef})`;
        const url = secretUrl(await deps.secrets.resolveSecret(sink.urlRef), what);
        const res = await fetchQuietly(
          doFetch,
          url,
          {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(webhookBody(n)),
          },
          what,
        );
        if (!res.ok)
          throw new Error(`webhook sink ${sink.name} (${sink.urlRef}) answered HTTP ${res.status}`);
        return;
      }
      case 'sns':
        await deps.sns.send(
          new PublishCommand({
            TopicArn: sink.topicArn,
            Subject: n.title.slice(0, 100),
            Message: webhookBody(n).text as string,
          }),
        );
        return;
    }
  }

  return {
    /** Send `notification` to every configured sink. */
    async notify(raw: { notification: Notification; sinks: NotificationsConfig['sinks'] }): Promise<void> {
      const input = validInput(NotifyInputSchema, raw, 'notify');
      // Every sink's reference is checked before any is resolved or any sink is sent to.
      const refusals = input.sinks.flatMap((sink) => {
        if (sink.type !== 'webhook') return [];
        const reason = secretReferenceRefusal(deps.settings, sink.urlRef);
        return reason ? [`webhook sink ${sink.name}: ${reason}`] : [];
      });
      if (refusals.length > 0) refuseInput(refusals);
      const failures: string[] = [];
      for (const sink of input.sinks) {
        try {
          await send(sink, input.notification);
        } catch (err) {
          if (err instanceof SecretRefusedError) refuseInput([err.message]);
          failures.push(`${sink.type}: ${(err as Error).message}`);
        }
      }
      if (failures.length > 0)
        throw new Error(`notify "${input.notification.title}" failed: ${failures.join('; ')}`);
    },
  };
}
