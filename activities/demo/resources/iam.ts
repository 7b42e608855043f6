/** IAM (global): roles, but service-linked ones, and OIDC providers. */
import {
  DeleteOpenIDConnectProviderCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  GetOpenIDConnectProviderCommand,
  ListOpenIDConnectProvidersCommand,
  ListOpenIDConnectProviderTagsCommand,
  ListRoleTagsCommand,
  paginateListAttachedRolePolicies,
  paginateListInstanceProfilesForRole,
  paginateListRolePolicies,
  paginateListRoles,
  RemoveRoleFromInstanceProfileCommand,
  type IAMClient,
} from '@aws-sdk/client-iam';
import { arnResource, iso, toMap, type Listing } from './listing';

/** Every role but service-linked ones, with its tags and creation time. */
export async function listRoles(iam: IAMClient, found: Listing): Promise<void> {
  for await (const page of paginateListRoles({ client: iam }, {})) {
    for (const role of page.Roles ?? []) {
      if (!role.Arn || !role.RoleName || role.Path?.startsWith('/aws-service-role/')) continue;
      const tags = await found.tagsOf(role.Arn, async () =>
        toMap((await iam.send(new ListRoleTagsCommand({ RoleName: role.RoleName }))).Tags),
      );
      if (tags) found.add(role.Arn, tags, iso(role.CreateDate));
    }
  }
}

/** Every OIDC provider, with its tags and, where it can be read, its creation time. */
export async function listOidcProviders(iam: IAMClient, found: Listing): Promise<void> {
  const providers = await iam.send(new ListOpenIDConnectProvidersCommand({}));
  for (const p of providers.OpenIDConnectProviderList ?? []) {
    const arn = p.Arn;
    if (!arn) continue;
    const tags = await found.tagsOf(arn, async () =>
      toMap(
        (await iam.send(new ListOpenIDConnectProviderTagsCommand({ OpenIDConnectProviderArn: arn }))).Tags,
      ),
    );
    if (!tags) continue;
    // Without its date (a read refused) it is aged by sv0:first-seen like a topic.
    const created = await iam
      .send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn }))
      .then(
        (o) => o.CreateDate,
        () => undefined,
      );
    found.add(arn, tags, iso(created));
  }
}

/** A role, after what AWS requires gone first: its policies and its instance profiles. */
export async function deleteRole(iam: IAMClient, arn: string): Promise<void> {
  const name = arnResource(arn).split('/').pop()!;
  for await (const page of paginateListAttachedRolePolicies({ client: iam }, { RoleName: name })) {
    for (const p of page.AttachedPolicies ?? [])
      await iam.send(new DetachRolePolicyCommand({ RoleName: name, PolicyArn: p.PolicyArn }));
  }
  for await (const page of paginateListRolePolicies({ client: iam }, { RoleName: name })) {
    for (const p of page.PolicyNames ?? [])
      await iam.send(new DeleteRolePolicyCommand({ RoleName: name, PolicyName: p }));
  }
  for await (const page of paginateListInstanceProfilesForRole({ client: iam }, { RoleName: name })) {
    for (const p of page.InstanceProfiles ?? []) {
      await iam.send(
        new RemoveRoleFromInstanceProfileCommand({
          RoleName: name,
          InstanceProfileName: p.InstanceProfileName,
        }),
      );
    }
  }
  await iam.send(new DeleteRoleCommand({ RoleName: name }));
}

export async function deleteOidcProvider(iam: IAMClient, arn: string): Promise<void> {
  await iam.send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn }));
}
