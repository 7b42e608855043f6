// The one barrel the worker bundles (workflowsPath): every workflow of every family, by family.
export * from './smoke';
export * from './org/bootstrap';
export * from './connectors/sync';
export * from './connectors/health';
export * from './connectors/after';
export * from './demo/lifecycle';
export * from './demo/sweep';
export * from './budget/guard';
