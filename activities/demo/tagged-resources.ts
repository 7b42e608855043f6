/**
 * Find and delete resources by tag in one account. The tagging API's GetResources is the first
 * source; per-service listings add what it misses (IAM roles never appear there, and some
 * services' tags set by CloudFormation are invisible to it), so a sweep is not fooled by a gap.
 * Each service's listing and deleter is in resources/, one module per service.
 */
import { DELETERS, GLOBAL_LISTERS, Listing, REGIONAL_LISTERS, waitForStackDelete } from './resources';
import type { TagClients, TaggedResource, UnreadableHandler } from './resources';
import { isNotFound } from '../aws/errors';

export {
  s3Client,
  tagClients,
  type TagClients,
  type TaggedResource,
  type UnreadableHandler,
  type UnreadableResource,
} from './resources';

/** The clients for the region an ARN names (IAM's and S3's ARNs name none: these clients). */
export function clientsFor(c: TagClients, arn: string): TagClients {
  const region = arn.split(':')[3];
  return region && c.inRegion ? c.inRegion(region) : c;
}

/** A resource as reports name it: its ARN and `service:kind`. */
export function resourceRef(r: Pick<TaggedResource, 'arn' | 'type'>): { arn: string; type: string } {
  return { arn: r.arn, type: r.type };
}

/**
 * Every resource in the account whose tags satisfy `match`, by ARN, tags merged from every source.
 * With `unreadable`, what cannot be read (one resource's tags, or a service's listing: a bucket
 * with a deny policy, a permission missing) is collected there with AWS's reason (or handed to it,
 * when it is a function) and the search goes on; without it, such a failure fails the search.
 * `regions`: the regional services are listed in each (through {@link TagClients.inRegion}); IAM
 * (roles, OIDC providers) and S3 are global and listed once. Default: the clients' own region.
 */
export async function findTagged(
  c: TagClients,
  tagKey: string,
  match: (tags: Record<string, string>) => boolean,
  unreadable?: UnreadableHandler,
  regions?: readonly string[],
): Promise<TaggedResource[]> {
  return (await listResources(c, tagKey, unreadable, regions)).filter(
    (r) => tagKey in r.tags && match(r.tags),
  );
}

/**
 * Every resource the listings see in the account, tagged or not, with its tags (empty when it has
 * none) and creation time; the tagging API adds what carries `tagKey` that no listing covers.
 * `unreadable` and `regions` as in {@link findTagged}.
 */
export async function listResources(
  c: TagClients,
  tagKey: string,
  unreadable?: UnreadableHandler,
  regions?: readonly string[],
): Promise<TaggedResource[]> {
  const found = new Listing(unreadable);
  const home = await c.tagging.config.region();
  for (const region of regions?.length ? regions : [home]) {
    const rc = region === home || !c.inRegion ? c : c.inRegion(region);
    for (const { service, list } of REGIONAL_LISTERS)
      await found.service(service, region, () => list(rc, found, tagKey));
  }
  for (const { service, list } of GLOBAL_LISTERS)
    await found.service(service, '', () => list(c, found, tagKey));
  return found.resources();
}

/**
 * Delete one resource. Already gone is success (safe to retry). A type this module cannot delete
 * throws, so the caller reports it instead of claiming the account is clean.
 */
export async function deleteTagged(
  account: TagClients,
  r: Pick<TaggedResource, 'arn' | 'type'>,
): Promise<void> {
  const c = clientsFor(account, r.arn);
  const deleter = DELETERS.get(r.type);
  try {
    if (!deleter) throw new Error(`no deleter for resource type ${r.type}; delete it by hand`);
    await deleter(c, r.arn);
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
}

/** Wait (heartbeating, up to an hour) until a stack whose delete was requested is gone. */
export async function waitUntilStackGone(c: TagClients, stackName: string): Promise<void> {
  await waitForStackDelete(c.cloudformation, stackName);
}
