/**
 * The Resource Groups Tagging API: the first source of a search, every resource carrying a tag key
 * whatever its service (but it never names IAM roles, and misses some tags CloudFormation sets).
 */
import {
  paginateGetResources,
  type ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
import { toMap, type Listing } from './listing';

/** Every resource the tagging API knows with `tagKey`, with its tags. */
export async function listByTagKey(
  tagging: ResourceGroupsTaggingAPIClient,
  tagKey: string,
  found: Listing,
): Promise<void> {
  for await (const page of paginateGetResources({ client: tagging }, { TagFilters: [{ Key: tagKey }] })) {
    for (const r of page.ResourceTagMappingList ?? [])
      if (r.ResourceARN) found.add(r.ResourceARN, toMap(r.Tags));
  }
}
