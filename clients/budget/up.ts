/**
 * The `sv0 up` step of the budget family: validate budgets.yaml against org.yaml, then start or
 * reconfigure one guard per budget (freezes as dry runs unless `--enable-destructive`).
 */
import { loadBudgetsConfig, loadNotificationsConfig, loadOrgConfig } from '../../lib/runtime/config';
import type { UpStep } from '../up-step';
import { startBudgetGuards } from './guards';

/** The `sv0 up` step: validate budgets.yaml against org.yaml, then start or reconfigure every guard. */
export const budgetGuardsUpStep: UpStep = {
  name: 'budget guards',
  async run(ctx) {
    const org = loadOrgConfig(ctx.configDir);
    const budgets = loadBudgetsConfig(ctx.configDir, org);
    const notifications = loadNotificationsConfig(ctx.configDir);
    const started = await startBudgetGuards(ctx.client, { budgets, org, notifications, dryRun: ctx.safe });
    return {
      status: ctx.safe ? 'dry-run' : 'running',
      detail: ctx.safe ? 'freezes are dry runs; pass --enable-destructive to arm them' : undefined,
      items: started.map((s) => s.workflowId),
    };
  },
};
