import { describe, expect, it } from 'vitest';
import { demoIdFromWorkflowId, demoStackName, warningLeadMs } from '../../lib/contracts/demo';

describe('warningLeadMs', () => {
  it('is 15 minutes by default and at most half the TTL', () => {
    expect(warningLeadMs(4 * 3_600_000)).toBe(15 * 60_000);
    expect(warningLeadMs(20 * 60_000)).toBe(10 * 60_000);
    expect(warningLeadMs(10_000, 60_000)).toBe(5_000);
  });
});

describe('demo names', () => {
  it('names the stack after the demo and reads the demo id back from its workflow id', () => {
    expect(demoStackName('acme-1')).toBe('sv0-demo-acme-1');
    expect(demoIdFromWorkflowId('demo-acme-1')).toBe('acme-1');
    expect(demoIdFromWorkflowId('budget-demo')).toBeUndefined();
  });
});
