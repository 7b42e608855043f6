import { defineQuery } from '@temporalio/workflow';
import type { NotificationsConfig } from '../config/notifications';
import type { DesiredOrg, OrgPlan, PlanStep } from '../org/types';

/**
 * What the CLI, `sv0 up` and the org workflows agree on: inputs, results and the progress query.
 * Kept out of workflows/ so that clients import no workflow module.
 */

export interface OrgBootstrapInput {
  desired: DesiredOrg;
  /** Return the plan without changing anything. */
  dryRun?: boolean;
  /** The steps the operator approved; the apply refuses if the live state now plans anything else. */
  approvedSteps?: PlanStep[];
}

export interface OrgBootstrapResult {
  dryRun: boolean;
  plan: OrgPlan;
  /** Ids of the steps applied, in the order they finished. */
  applied: string[];
}

/** What the bootstrap is doing: steps done, running and left. */
export interface OrgProgress {
  phase: 'reading' | 'planned' | 'applying' | 'done' | 'failed';
  total: number;
  done: string[];
  running: string[];
  left: string[];
  failed?: { step: string; message: string };
}

export const orgProgressQuery = defineQuery<OrgProgress>('orgProgress');

export interface OrgDriftInput {
  desired: DesiredOrg;
  sinks: NotificationsConfig['sinks'];
}
