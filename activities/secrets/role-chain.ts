/**
 * Short-lived AWS credentials for a connector run: the worker assumes a role chain of its own
 * settings (`secrets.roleChains` in worker.yaml), each hop with the previous hop's temporary
 * credentials and the first with the worker's own, and hands back the last hop's keys. Nothing of
 * the keys goes into an error: AWS's messages are cut short and every credential seen so far is
 * redacted from them.
 */
import { OrganizationsClient, paginateListAccounts } from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { WORKER_SETTINGS_FILE, type RoleHop } from '../../lib/config/worker';
import type { AwsClientConfig } from '../../lib/runtime/aws';
import { awsErrorName } from '../aws/errors';
import { forConnector, SecretError } from './errors';

/** The temporary credentials of the chain's last role. */
export interface TemporaryCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration?: Date;
}

export interface RoleChainDeps {
  /** The worker's own AWS settings: the first hop is assumed with its credentials. */
  aws: AwsClientConfig;
}

/** AWS answers that retrying the same chain cannot change: a refused role, a bad request. */
const PERMANENT = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'AWSOrganizationsNotInUseException',
  'InvalidClientTokenId',
  'MalformedPolicyDocument',
  'PackedPolicyTooLarge',
  'RegionDisabledException',
  'ValidationError',
]);

/** The longest AWS allows for a role assumed with another role's credentials (role chaining). */
const CHAINED_MAX_SECONDS = 3600;
/** The shortest AssumeRole accepts. */
const MIN_SECONDS = 900;
/** How much of an AWS message an error keeps. */
const MAX_MESSAGE_CHARS = 300;

/**
 * How long the keys live: the connector's timeout and five minutes more, within what AWS allows
 * for a chained role (15 minutes to one hour).
 */
export function credentialSeconds(timeoutMs: number): number {
  return Math.min(CHAINED_MAX_SECONDS, Math.max(MIN_SECONDS, Math.ceil(timeoutMs / 1000) + 300));
}

/** An AWS error's message with every value in `secrets` redacted, on one line, cut short. */
export function scrubAwsMessage(message: string, secrets: readonly string[]): string {
  let text = message.replace(/\s+/g, ' ').trim();
  for (const s of secrets) if (s) text = text.split(s).join('[redacted]');
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}...` : text;
}

export function createRoleChainMinter(deps: RoleChainDeps) {
  /** A hop's account id: written as one, or the live organization's account of that name. */
  async function accountIdOf(account: string, where: string): Promise<string> {
    if (/^[0-9]{12}$/.test(account)) return account;
    const organizations = new OrganizationsClient(deps.aws);
    try {
      for await (const page of paginateListAccounts({ client: organizations }, {})) {
        const found = page.Accounts?.find((a) => a.Name === account);
        if (found?.Id) return found.Id;
      }
    } catch (err) {
      const what = `${where}: cannot look up account ${account} in AWS Organizations`;
      if (PERMANENT.has(awsErrorName(err) ?? ''))
        throw new SecretError(
          `${what} (${awsErrorName(err)}); write its 12-digit id in ${WORKER_SETTINGS_FILE}`,
        );
      throw new Error(`${what}: ${scrubAwsMessage((err as Error).message ?? String(err), [])}`);
    }
    throw new SecretError(
      `${where}: the organization has no account named ${account}; fix the hop in secrets.roleChains in ${WORKER_SETTINGS_FILE}`,
    );
  }

  /**
   * Assume `hops` in order and return the last role's credentials. A refused hop fails with a
   * {@link SecretError} naming the chain, the hop and the setting; a network or throttling
   * failure with a plain Error (the activity's retry policy tries again). No message holds a key.
   */
  async function mint(
    connector: string,
    chain: string,
    hops: readonly RoleHop[],
    opts: { durationSeconds: number; sessionName: string },
  ): Promise<TemporaryCredentials> {
    const seen: string[] = [];
    let config: AwsClientConfig = deps.aws;
    let last: TemporaryCredentials | undefined;
    for (const [i, hop] of hops.entries()) {
      const where = forConnector(
        connector,
        `AWS role chain ${chain}, hop ${i + 1} (${hop.role} in ${hop.account})`,
      );
      const accountId = await accountIdOf(hop.account, where);
      const roleArn = `arn:aws:iam::${accountId}:role/${hop.role}`;
      let out;
      try {
        out = await new STSClient(config).send(
          new AssumeRoleCommand({
            RoleArn: roleArn,
            RoleSessionName: opts.sessionName.replace(/[^\w+=,.@-]/g, '-').slice(0, 64),
            ExternalId: hop.externalId,
            DurationSeconds: opts.durationSeconds,
          }),
        );
      } catch (err) {
        const name = awsErrorName(err) ?? 'Error';
        const message = scrubAwsMessage((err as Error)?.message ?? String(err), seen);
        if (PERMANENT.has(name))
          throw new SecretError(
            `${where}: AWS refused AssumeRole of ${roleArn} (${name}: ${message}); check that the role trusts ${i === 0 ? "the worker's credentials" : `hop ${i}`} with this external id (secrets.roleChains.${chain} in ${WORKER_SETTINGS_FILE})`,
          );
        throw new Error(`${where}: AssumeRole of ${roleArn} failed (${name}: ${message})`);
      }
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken)
        throw new Error(`${where}: AssumeRole of ${roleArn} returned no credentials`);
      last = {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
        expiration: c.Expiration,
      };
      seen.push(c.AccessKeyId, c.SecretAccessKey, c.SessionToken);
      config = { ...deps.aws, credentials: last };
    }
    if (!last) throw new SecretError(forConnector(connector, `AWS role chain ${chain} has no hop`));
    return last;
  }

  return { mint };
}

export type RoleChainMinter = ReturnType<typeof createRoleChainMinter>;
