/**
 * Read an AWS Budgets notification: which budget it is about, to tell that budget's guard to check
 * now. The guard reads the spend itself from the Budgets API, so the message is trusted for
 * nothing but the budget's name.
 *
 * The HTTP endpoint (`sv0 budget alerts-endpoint`) reads only messages whose SNS signature it has
 * verified (lib/runtime/sns-signature.ts) from an allowed topic; `sv0 budget alert` reads what
 * the operator pipes into it.
 */

/** What a budget notification asks of its guard. */
export interface BudgetAlertText {
  budgetName: string;
  alertType?: string;
  /** Subject and alert type, at most 200 characters, for the guard's audit trail. */
  summary: string;
}

/** What a message piped into `sv0 budget alert` asks of us. */
export type SnsBudgetMessage = ({ kind: 'alert' } & BudgetAlertText) | { kind: 'ignored'; reason: string };

/** The message is no AWS Budgets notification. */
export class BudgetAlertError extends Error {
  override name = 'BudgetAlertError';
}

function field(text: string, label: string): string | undefined {
  const m = new RegExp(`^\\s*${label}:\\s*(.+?)\\s*$`, 'm').exec(text);
  return m?.[1];
}

/**
 * Find the budget in a notification's text (the `Message` of an SNS delivery, or the alert email's
 * body). Throws {@link BudgetAlertError} when it names no budget.
 */
export function budgetAlertFromText(text: string, subject?: string): BudgetAlertText {
  const budgetName = field(text, 'Budget Name');
  if (!budgetName)
    throw new BudgetAlertError(
      'the message names no budget (no "Budget Name:" line); is it an AWS Budgets notification?',
    );
  const alertType = field(text, 'Alert Type');
  const threshold = field(text, 'Alert Threshold');
  const summary = [subject, alertType && `${alertType} ${threshold ?? ''}`.trim()]
    .filter(Boolean)
    .join(' | ')
    .slice(0, 200);
  return { budgetName, alertType, summary: summary || `budget ${budgetName} alert` };
}

/**
 * Parse what an operator pipes into `sv0 budget alert`: an SNS delivery's JSON or the bare
 * notification text. Only a Notification is an alert; SNS's other types are ignored. Throws
 * {@link BudgetAlertError} when a notification names no budget.
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
  if (envelope && envelope.Type !== undefined && envelope.Type !== 'Notification')
    return { kind: 'ignored', reason: `SNS message type ${String(envelope.Type).slice(0, 40)}` };
  const text = envelope ? String(envelope.Message ?? '') : body;
  const subject = typeof envelope?.Subject === 'string' ? envelope.Subject : undefined;
  return { kind: 'alert', ...budgetAlertFromText(text, subject) };
}
