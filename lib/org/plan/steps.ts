/**
 * What every planner of lib/org/plan/ shares: the plan being drafted, a step with its id and wave,
 * and the comparisons of live and desired state.
 */
import {
  targetRef,
  type LiveAccount,
  type LiveOrg,
  type OrgPlan,
  type PlanStep,
  type StepAction,
  type StepKind,
  type TargetRef,
} from '../types';

/** The plan as the planners build it, before its steps are ordered by wave. */
export interface PlanDraft {
  steps: PlanStep[];
  undeclared: OrgPlan['undeclared'];
  frozen: TargetRef[];
  notes: string[];
  warnings: string[];
}

/**
 * The order of the bootstrap runbook as waves: the organization, then the SCP type, then what stands
 * alone (OUs, policies, accounts, permission sets, users, cost settings), then what joins two
 * things (moves, attachments, tags, roles, budgets, assignments). Steps of one wave are independent.
 */
const WAVE: Record<StepKind, number> = {
  createOrganization: 0,
  enableScpType: 1,
  enableTagPolicyType: 1,
  createTagPolicy: 2,
  updateTagPolicy: 2,
  attachTagPolicy: 3,
  detachTagPolicy: 3,
  createOu: 2,
  createPolicy: 2,
  updatePolicy: 2,
  createAccount: 2,
  ensurePermissionSet: 2,
  createUser: 2,
  activateCostAllocationTags: 2,
  createAnomalyMonitor: 2,
  ensureAlertsTopic: 2,
  moveAccount: 3,
  tagAccount: 3,
  attachPolicy: 3,
  detachPolicy: 3,
  ensureRole: 3,
  createBudget: 3,
  updateBudget: 3,
  createBudgetNotification: 3,
  createAssignment: 3,
  ensureFreezeRole: 3,
  ensureConnectorCredentialsRole: 3,
  subscribeBudgetAlerts: 3,
  ensureAnomalySubscription: 3,
  // After the budget, the role and FreezeAccount exist.
  ensureFreezeAction: 4,
};

/** The first wave after accounts are created: for a step that needs the new accounts' ids. */
export const AFTER_ACCOUNTS = WAVE.createAccount + 1;

/** A step in its kind's wave, or in `wave` when it must wait for more than its kind does. */
export function step(action: StepAction, key: string, summary: string, wave?: number): PlanStep {
  return { ...action, id: `${action.kind}:${key}`, wave: wave ?? WAVE[action.kind], summary };
}

/** Canonical JSON (sorted keys), so documents that differ only in layout compare equal. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function sameDocument(a: string, b: string): boolean {
  try {
    return canonicalJson(JSON.parse(a)) === canonicalJson(JSON.parse(b));
  } catch {
    return a === b;
  }
}

/** The live account a declared one is: same name, else same email (AWS keys accounts on email). */
export function findAccount(live: LiveOrg, name: string, email?: string): LiveAccount | undefined {
  return (
    live.accounts.find((a) => a.name === name) ??
    (email ? live.accounts.find((a) => a.email.toLowerCase() === email.toLowerCase()) : undefined)
  );
}

/** How SCP and tag policy attachments are planned and reported. */
const ATTACHMENT = {
  scp: { attach: 'attachPolicy', detach: 'detachPolicy', what: 'SCP', undeclared: 'attachment' },
  tag: {
    attach: 'attachTagPolicy',
    detach: 'detachTagPolicy',
    what: 'tag policy',
    undeclared: 'tag policy attachment',
  },
} as const;

/**
 * Attach a policy to each declared target it lacks. The file lists every target of a policy it
 * declares, so an extra attachment is undone; one on a target the file cannot name (a nested OU,
 * an undeclared account) is reported, not touched.
 */
export function planAttachments(
  plan: PlanDraft,
  type: keyof typeof ATTACHMENT,
  policy: string,
  declared: TargetRef[],
  attached: TargetRef[],
): void {
  const k = ATTACHMENT[type];
  for (const t of declared) {
    if (!attached.includes(t))
      plan.steps.push(
        step({ kind: k.attach, policy, target: t }, `${policy}->${t}`, `attach ${k.what} ${policy} to ${t}`),
      );
  }
  for (const t of attached) {
    if (declared.includes(t)) continue;
    if (t === targetRef.root || t.startsWith('ou:') || t.startsWith('account:')) {
      plan.steps.push(
        step(
          { kind: k.detach, policy, target: t },
          `${policy}->${t}`,
          `detach ${k.what} ${policy} from ${t} (not a declared target)`,
        ),
      );
    } else plan.undeclared.push({ kind: k.undeclared, name: `${policy}->${t}` });
  }
}
