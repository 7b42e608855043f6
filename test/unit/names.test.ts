import { describe, expect, it } from 'vitest';
import { WorkflowTypes } from '../../lib/names';
import * as workflows from '../../workflows';

describe('WorkflowTypes', () => {
  it('names exactly the workflows the worker bundles (workflows/index.ts)', () => {
    const exported = Object.entries(workflows)
      .filter(([, value]) => typeof value === 'function')
      .map(([name]) => name)
      .sort();
    expect(Object.values(WorkflowTypes).sort()).toEqual(exported);
  });
});
