// The one barrel the worker bundles (workflowsPath). Each family lives in its own module.
export * from './smoke';
export * from './org-bootstrap';
export * from './connector-sync';
export * from './connector-health';
export * from './demo-lifecycle';
export * from './budget-guard';
