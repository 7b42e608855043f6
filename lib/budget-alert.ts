/**
 * Read an AWS Budgets notification as SNS delivers it (to an HTTP endpoint, or piped into
 * `sv0 budget alert`), to tell the budget's guard to check now.
 *
 * The message is not trusted for anything but "which budget": the guard reads the spend itself
 * from the Budgets API, so a forged alert can at most cause an extra read. That is why no SNS
 * signature check is done here.
 */

/** What an SNS delivery asks of us. */
export type SnsBudgetMessage =
  | { kind: 'alert'; budgetName: string; alertType?: string; summary: string }
  | { kind: 'subscription-confirmation'; topicArn?: string; subscribeUrl: string }
  | { kind: 'ignored'; reason: string };

class BudgetAlertError extends Error {
  override name = 'BudgetAlertError';
}

/** SubscribeURLs we follow: SNS's own endpoints only. */
const SNS_URL = /^https:\/\/sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\//;

function field(text: string, label: string): string | undefined {
  const m = new RegExp(`^\\s*${label}:\\s*(.+?)\\s*$`, 'm').exec(text);
  return m?.[1];
}

/**
 * Parse an SNS HTTP body (JSON with `Type` and `Message`) or the bare notification text.
 * Throws {@link BudgetAlertError} when a notification names no budget.
 */
export function parseSnsBudgetMessage(body: string): SnsBudgetMessage {
  let envelope: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      envelope = parsed as Record<string, unknown>;
  } catch {
    // Not JSON: the bare message text (for example pasted from the alert email).
  }
  if (envelope?.Type === 'SubscriptionConfirmation') {
    const url = String(envelope.SubscribeURL ?? '');
    if (!SNS_URL.test(url))
      throw new BudgetAlertError(
        `SubscriptionConfirmation with a SubscribeURL that is not SNS's: ${url.slice(0, 80)}`,
      );
    return {
      kind: 'subscription-confirmation',
      topicArn: envelope.TopicArn as string | undefined,
      subscribeUrl: url,
    };
  }
  if (envelope && envelope.Type !== undefined && envelope.Type !== 'Notification') {
    return { kind: 'ignored', reason: `SNS message type ${String(envelope.Type)}` };
  }
  const text = envelope ? String(envelope.Message ?? '') : body;
  const budgetName = field(text, 'Budget Name');
  if (!budgetName)
    throw new BudgetAlertError(
      'the message names no budget (no "Budget Name:" line); is it an AWS Budgets notification?',
    );
  const alertType = field(text, 'Alert Type');
  const threshold = field(text, 'Alert Threshold');
  const subject = typeof envelope?.Subject === 'string' ? envelope.Subject : undefined;
  const summary = [subject, alertType && `${alertType} ${threshold ?? ''}`.trim()]
    .filter(Boolean)
    .join(' | ')
    .slice(0, 200);
  return { kind: 'alert', budgetName, alertType, summary: summary || `budget ${budgetName} alert` };
}
