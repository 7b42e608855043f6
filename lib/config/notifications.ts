/**
 * config/notifications.yaml: where notifications go. A webhook URL carries its own credential, so
 * it is written as a secret reference (./secret-refs.ts) and resolved only inside the notify
 * activity.
 */
import { z } from 'zod';
import { SecretRefSchema } from './secret-refs';

const SinkSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('log') }),
  z.strictObject({
    type: z.literal('webhook'),
    name: z.string().min(1).default('webhook'),
    /** Reference to the webhook URL (Slack-compatible incoming webhook). */
    urlRef: SecretRefSchema,
  }),
  z.strictObject({
    type: z.literal('sns'),
    topicArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$/, 'not an SNS topic ARN'),
  }),
]);
export type SinkConfig = z.infer<typeof SinkSchema>;

export const SinksSchema = z.array(SinkSchema).max(20);

export const NotificationsSchema = z.strictObject({
  sinks: z.array(SinkSchema).default([{ type: 'log' }]),
});
export type NotificationsConfig = z.infer<typeof NotificationsSchema>;

export const NOTIFICATIONS_FILE = 'notifications.yaml';
export const DEFAULT_NOTIFICATIONS: NotificationsConfig = { sinks: [{ type: 'log' }] };

/** A notification as the notify activity accepts it (bounded: it goes to chat and e-mail). */
export const NotificationSchema = z.strictObject({
  event: z.string().regex(/^[a-z0-9.-]{1,80}$/, 'an event kind such as connector.stale'),
  severity: z.enum(['info', 'warning', 'critical']),
  title: z.string().max(1000),
  text: z.string().max(20_000),
  fields: z.record(z.string().max(100), z.union([z.string().max(5000), z.number(), z.boolean()])).optional(),
});

/** Input of the `notify` activity. */
export const NotifyInputSchema = z.strictObject({ notification: NotificationSchema, sinks: SinksSchema });

/** One notification, as every workflow family sends it. Never put a secret value in one. */
export interface Notification {
  /** Machine-readable kind, e.g. `demo.expired`, `budget.threshold`, `connector.stale`. */
  event: string;
  severity: 'info' | 'warning' | 'critical';
  title: string;
  text: string;
  fields?: Record<string, string | number | boolean>;
}
