import { describe, expect, it } from 'vitest';
import { BudgetAlertError, budgetAlertFromText, parseSnsBudgetMessage } from '../../lib/budget-alert';

describe('SNS budget alerts', () => {
  const text = [
    'AWS Budget Notification November 28, 2026',
    'AWS Account 123456789012',
    '',
    'Budget Name: sv0-demo',
    'Budget Type: Cost',
    'Budgeted Amount: $200.00',
    'Alert Type: ACTUAL',
    'Alert Threshold: > $160.00',
    'ACTUAL Amount: $165.23',
  ].join('\n');

  it('finds the budget in an SNS notification and in the bare text', () => {
    const sns = JSON.stringify({
      Type: 'Notification',
      Subject: 'AWS Budgets: sv0-demo has exceeded your alert threshold',
      Message: text,
    });
    expect(parseSnsBudgetMessage(sns)).toMatchObject({
      kind: 'alert',
      budgetName: 'sv0-demo',
      alertType: 'ACTUAL',
    });
    expect(parseSnsBudgetMessage(text)).toMatchObject({ kind: 'alert', budgetName: 'sv0-demo' });
  });

  it('ignores SNS confirmations and refuses messages without a budget', () => {
    const confirm = {
      Type: 'SubscriptionConfirmation',
      TopicArn: 'arn:aws:sns:us-east-1:123456789012:budgets',
      SubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=x',
    };
    expect(parseSnsBudgetMessage(JSON.stringify(confirm))).toEqual({
      kind: 'ignored',
      reason: 'SNS message type SubscriptionConfirmation',
    });
    expect(() => parseSnsBudgetMessage(JSON.stringify({ Type: 'Notification', Message: 'hello' }))).toThrow(
      /names no budget/,
    );
    expect(() => budgetAlertFromText('Budget Type: Cost')).toThrow(BudgetAlertError);
  });

  it('summarises subject and alert type, at most 200 characters', () => {
    expect(budgetAlertFromText(text, 'AWS Budgets: sv0-demo')).toEqual({
      budgetName: 'sv0-demo',
      alertType: 'ACTUAL',
      summary: 'AWS Budgets: sv0-demo | ACTUAL > $160.00',
    });
    expect(budgetAlertFromText('Budget Name: b').summary).toBe('budget b alert');
    expect(budgetAlertFromText(text, 'x'.repeat(500)).summary).toHaveLength(200);
  });
});
