import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { defaultAwsConfig } from '../../lib/runtime/aws';
import { loadNotificationsConfig, loadOrgConfig, loadScenarios } from '../../lib/runtime/config';
import { ScheduleIds } from '../../lib/names';
import { resolveSandboxTargets } from './targets';
import { buildSweepInput, ensureDemoSweepSchedule } from './sweep';
import type { UpStep } from '../up-step';

/**
 * The `sv0 up` step for demos: create or update the `demo-sweep` schedule (02:00 UTC, applies for
 * real) for every sandbox account of config/org.yaml, resolved in the live organization. In safe
 * mode the schedule is held paused; `sv0 up --enable-destructive` arms it.
 */
export const demoSweepUpStep: UpStep = {
  name: 'demo sweep schedule',
  validate(ctx) {
    loadOrgConfig(ctx.configDir);
    loadNotificationsConfig(ctx.configDir);
    loadScenarios(ctx.configDir);
  },
  async run(ctx) {
    const org = loadOrgConfig(ctx.configDir);
    const notifications = loadNotificationsConfig(ctx.configDir);
    const { managementAccountId, targets } = await resolveSandboxTargets(
      new OrganizationsClient(defaultAwsConfig()),
      org,
    );
    const input = buildSweepInput({ targets, managementAccountId, org, notifications, apply: true });
    const result = await ensureDemoSweepSchedule(ctx.client, input, { paused: ctx.safe });
    return {
      status: ctx.safe ? 'paused' : result,
      detail: `${targets.map((t) => t.accountName).join(', ')} nightly at 02:00 UTC${ctx.safe ? ' (paused: safe mode)' : ''}`,
      items: [ScheduleIds.demoSweep],
    };
  },
};
