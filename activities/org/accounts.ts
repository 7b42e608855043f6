import {
  type CreateAccountState,
  CreateAccountCommand,
  DescribeCreateAccountStatusCommand,
  ListParentsCommand,
  MoveAccountCommand,
  type OrganizationsClient,
  paginateListCreateAccountStatus,
  TagResourceCommand,
} from '@aws-sdk/client-organizations';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType, Roles } from '../../lib/names';
import type { PlanStep } from '../../lib/org/types';
import { aws, awsErrorName, classifyAwsError } from '../aws/errors';
import { heartbeat, lastHeartbeat, sleep } from '../aws/heartbeat';
import { orgLookup } from './lookup';

export interface OrgAccountsDeps {
  organizations: OrganizationsClient;
  /** Pause between DescribeCreateAccountStatus polls. @default 10000 */
  pollIntervalMs?: number;
}

type Step<K extends PlanStep['kind']> = Extract<PlanStep, { kind: K }>;

/** What an operator does about each CreateAccount failure reason. Reasons not listed are permanent too. */
const FAILURE_FIXES: Record<string, string> = {
  EMAIL_ALREADY_EXISTS:
    'choose another email for this account in config/org.yaml (or invite the existing account into the organization)',
  ACCOUNT_LIMIT_EXCEEDED:
    'ask AWS Support to raise the organization’s account quota, or remove the account from config/org.yaml',
  INVALID_EMAIL: 'fix the account’s email in config/org.yaml',
  INVALID_ADDRESS: 'fix the organization’s contact address in the AWS console',
  INVALID_IDENTITY_FOR_BUSINESS_VALIDATION:
    'complete the business validation AWS asked for, then run apply again',
  MISSING_BUSINESS_VALIDATION: 'complete the business validation AWS asked for, then run apply again',
  PENDING_BUSINESS_VALIDATION: 'wait for AWS to finish business validation, then run apply again',
  MISSING_PAYMENT_INSTRUMENT: 'add a payment method to the management account, then run apply again',
};

/** Reasons that a new CreateAccount request may get past. */
const TRANSIENT_FAILURES = new Set(['CONCURRENT_ACCOUNT_MODIFICATION', 'INTERNAL_FAILURE']);

/** What an attempt keeps in its heartbeat, so the next attempt (e.g. on a restarted worker) resumes. */
interface CreateAccountProgress {
  requestId: string;
}

/**
 * Member accounts: create (asynchronous in AWS, polled here), move into their OU, tag. Each is
 * idempotent: an account that exists by name or email is not created again; a request still in
 * progress is resumed rather than repeated.
 */
export function createOrgAccountsActivities(deps: OrgAccountsDeps) {
  const { organizations } = deps;
  const lookup = orgLookup(organizations);
  const pollMs = deps.pollIntervalMs ?? 10_000;

  /** A request for this account already in progress, e.g. from an attempt that lost its heartbeat. */
  async function inProgressRequest(name: string): Promise<string | undefined> {
    for await (const page of paginateListCreateAccountStatus(
      { client: organizations },
      { States: ['IN_PROGRESS'] },
    )) {
      const found = page.CreateAccountStatuses?.find((s) => s.AccountName === name);
      if (found?.Id) return found.Id;
    }
    return undefined;
  }

  function failed(step: Step<'createAccount'>, reason: string): ApplicationFailure {
    const fix =
      FAILURE_FIXES[reason] ??
      'see the AWS Organizations console for the request, fix the cause, then run apply again';
    return ApplicationFailure.nonRetryable(
      `account ${step.account}: CreateAccount FAILED with ${reason} for ${step.email}; ${fix}`,
      ErrorType.AccountCreationFailed,
    );
  }

  return {
    /**
     * Create a member account and wait until AWS reports it SUCCEEDED, heartbeating the request id
     * at every poll. FAILED is non-retryable and names the account, the reason and the fix.
     */
    async orgCreateAccount(step: Step<'createAccount'>): Promise<{ accountId: string }> {
      const existing = await lookup.findAccount(step.account, step.email);
      if (existing?.Id) return { accountId: existing.Id };

      let requestId =
        lastHeartbeat<CreateAccountProgress>()?.requestId ?? (await inProgressRequest(step.account));
      for (;;) {
        if (!requestId) {
          const out = await aws(`create account ${step.account}`, () =>
            organizations.send(
              new CreateAccountCommand({
                AccountName: step.account,
                Email: step.email,
                RoleName: Roles.organizationAccess,
                Tags: Object.entries(step.tags).map(([Key, Value]) => ({ Key, Value })),
              }),
            ),
          );
          requestId = out.CreateAccountStatus!.Id!;
        }
        heartbeat({ requestId } satisfies CreateAccountProgress);
        const out = await aws(`DescribeCreateAccountStatus for ${step.account}`, () =>
          organizations.send(new DescribeCreateAccountStatusCommand({ CreateAccountRequestId: requestId })),
        );
        const status = out.CreateAccountStatus;
        const state: CreateAccountState | undefined = status?.State;
        if (state === 'SUCCEEDED' && status?.AccountId) return { accountId: status.AccountId };
        if (state === 'FAILED') {
          const reason = String(status?.FailureReason ?? 'UNKNOWN');
          if (!TRANSIENT_FAILURES.has(reason)) throw failed(step, reason);
          // A fresh request may get past a transient failure; the retry policy adds the backoff.
          heartbeat({ requestId: '' });
          throw new Error(
            `account ${step.account}: CreateAccount FAILED with ${reason}; retrying with a new request`,
          );
        }
        await sleep(pollMs);
      }
    },

    /** Move an account into its declared OU; already there is success. */
    async orgMoveAccount(step: Step<'moveAccount'>): Promise<void> {
      const account = await lookup.findAccount(step.account, step.email);
      if (!account?.Id) throw new Error(`account ${step.account} does not exist yet`);
      const destination = await lookup.ouId(step.to);
      const parents = await aws('ListParents', () =>
        organizations.send(new ListParentsCommand({ ChildId: account.Id })),
      );
      const source = parents.Parents?.[0]?.Id;
      if (!source || source === destination) return;
      try {
        await organizations.send(
          new MoveAccountCommand({
            AccountId: account.Id,
            SourceParentId: source,
            DestinationParentId: destination,
          }),
        );
      } catch (err) {
        if (awsErrorName(err) !== 'DuplicateAccountException')
          throw classifyAwsError(`move account ${step.account} to ${step.to}`, err);
      }
    },

    /** Set the declared tags on an account (other tags are left as they are). */
    async orgTagAccount(step: Step<'tagAccount'>): Promise<void> {
      const account = await lookup.findAccount(step.account, step.email);
      if (!account?.Id) throw new Error(`account ${step.account} does not exist yet`);
      await aws(`tag account ${step.account}`, () =>
        organizations.send(
          new TagResourceCommand({
            ResourceId: account.Id,
            Tags: Object.entries(step.tags).map(([Key, Value]) => ({ Key, Value })),
          }),
        ),
      );
    },
  };
}
