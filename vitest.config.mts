import { defineConfig } from 'vitest/config';
import { OwnStackFirst } from './test/harness/sequencer.js';

export default defineConfig({
  test: {
    environment: 'node',
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/harness/global-setup.ts'],
    setupFiles: ['test/harness/setup-file.ts'],
    // Two files at a time: one local stack is shared by the files that use it, and they take
    // turns (test/harness/shared-stack.ts: they never race on moto's state, schedules or task
    // queues); the files that start a stack of their own (the deployment test) run alongside.
    // A time-skipping server has one clock, and each file that uses one starts its own.
    maxWorkers: 2,
    sequence: { sequencer: OwnStackFirst },
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
