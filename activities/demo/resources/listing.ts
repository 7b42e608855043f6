/**
 * What every service's lister shares: a resource as found (ARN, `service:kind`, tags, creation
 * time), and the {@link Listing} the listers report to, which merges what several sources say of
 * one ARN and collects (or fails on) what cannot be read.
 */
import { isNotFound } from '../../aws/errors';

/** A resource found by its tags. `type` is `service:kind`, e.g. `s3:bucket`, `iam:role`. */
export interface TaggedResource {
  arn: string;
  type: string;
  tags: Record<string, string>;
  /**
   * ISO-8601 creation (or, for a Lambda function or version, last modification) time where the
   * service reports one.
   */
  createdAt?: string;
}

/** What could not be read, with AWS's reason. */
export interface UnreadableResource {
  arn: string;
  type: string;
  error: string;
}

/**
 * Where a search puts what it cannot read: a list (collected, the search goes on), or a function
 * that decides per resource (returns: skipped; throws: the search fails with that error).
 */
export type UnreadableHandler = UnreadableResource[] | ((problem: UnreadableResource, err: unknown) => void);

/** The resource part of an ARN: arn:aws:iam::1:role/x -> role/x, arn:aws:s3:::b -> b. */
export function arnResource(arn: string): string {
  return arn.split(':').slice(5).join(':');
}

/** `service:kind` from an ARN: arn:aws:iam::1:role/x -> iam:role, arn:aws:s3:::b -> s3:bucket. */
export function resourceType(arn: string): string {
  const [, , service = '', , , rest = ''] = arn.split(':');
  const resource = arnResource(arn);
  if (service === 's3' && !resource.includes('/')) return 's3:bucket';
  if (service === 'sns') return 'sns:topic';
  // A published version: function:<name>:<number> (an unqualified ARN is the function).
  if (service === 'lambda' && /^function:[^:]+:[0-9]+$/.test(resource)) return 'lambda:version';
  const kind = /^([A-Za-z-]+)[/:]/.exec(resource)?.[1] ?? rest;
  return `${service}:${kind}`;
}

/** Tags as a map, from AWS's list of `{ Key, Value }` or a map. */
export function toMap(
  tags: { Key?: string; Value?: string }[] | Record<string, string> | undefined,
): Record<string, string> {
  if (!tags) return {};
  if (!Array.isArray(tags)) return { ...tags };
  return Object.fromEntries(tags.filter((t) => t.Key !== undefined).map((t) => [t.Key!, t.Value ?? '']));
}

/** A service's date as ISO-8601, or undefined where it gives none. */
export const iso = (d: Date | string | undefined) =>
  d === undefined ? undefined : new Date(d).toISOString();

function problem(arn: string, err: unknown): UnreadableResource {
  const e = err as Error;
  return { arn, type: resourceType(arn), error: `${e.name ?? 'Error'}: ${e.message ?? String(err)}` };
}

/**
 * One search's findings, by ARN, tags merged from every source. With an {@link UnreadableHandler},
 * what cannot be read goes there and the search goes on; without one, it fails the search.
 */
export class Listing {
  private readonly found = new Map<string, TaggedResource>();

  constructor(private readonly unreadable?: UnreadableHandler) {}

  /** A resource found, with its tags (empty when it has none) and creation time where known. */
  add(listed: string, tags: Record<string, string>, createdAt?: string): void {
    // A log group is one resource whether an API names it with its streams' `:*` or without.
    const arn = listed.replace(/(:log-group:[^:]+):\*$/, '$1');
    const prev = this.found.get(arn);
    this.found.set(arn, {
      arn,
      type: resourceType(arn),
      tags: { ...prev?.tags, ...tags },
      createdAt: createdAt ?? prev?.createdAt,
    });
  }

  /** Collect (or hand over) what could not be read of `arn`; without a handler, fail with its error. */
  cannotRead(arn: string, err: unknown): void {
    this.report(problem(arn, err), err);
  }

  /** One resource's tags; gone is no tags, unreadable is undefined (after {@link cannotRead}). */
  async tagsOf(arn: string, read: () => Promise<Record<string, string>>) {
    return read().catch((err: unknown) => {
      if (isNotFound(err)) return {};
      this.cannotRead(arn, err);
      return undefined;
    });
  }

  /** One service's listing; unreadable is reported as `<service>:*`. */
  async service(service: string, region: string, list: () => Promise<void>): Promise<void> {
    try {
      await list();
    } catch (err) {
      this.report({ ...problem(`arn:aws:${service}:${region}::*`, err), type: `${service}:*` }, err);
    }
  }

  /** Everything found, in the order first found. */
  resources(): TaggedResource[] {
    return [...this.found.values()];
  }

  private report(p: UnreadableResource, err: unknown): void {
    if (!this.unreadable) throw err;
    if (Array.isArray(this.unreadable)) this.unreadable.push(p);
    else this.unreadable(p, err);
  }
}
