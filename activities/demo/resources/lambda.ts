/** Lambda: functions and their published versions (a version keeps its code after $LATEST moved on). */
import {
  DeleteFunctionCommand,
  ListTagsCommand,
  paginateListAliases,
  paginateListFunctions,
  paginateListVersionsByFunction,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import { isNotFound } from '../../aws/errors';
import { iso, toMap, type Listing } from './listing';

/**
 * Every function, aged by its last modification, and its published versions but those an alias
 * points to.
 */
export async function listFunctions(lambda: LambdaClient, found: Listing): Promise<void> {
  for await (const page of paginateListFunctions({ client: lambda }, {})) {
    for (const f of page.Functions ?? []) {
      if (!f.FunctionArn) continue;
      const fn = f.FunctionArn;
      const tags = await found.tagsOf(fn, async () =>
        toMap((await lambda.send(new ListTagsCommand({ Resource: fn }))).Tags),
      );
      if (!tags) continue;
      found.add(fn, tags, iso(f.LastModified));
      // Published versions keep their code (and its storage) after $LATEST moved on; each
      // carries its function's tags and is aged by its own date.
      const versions = await publishedVersions(lambda, f.FunctionName ?? fn).catch((err: unknown) => {
        if (!isNotFound(err)) found.cannotRead(fn, err);
        return [];
      });
      for (const v of versions) found.add(`${fn}:${v.version}`, tags, iso(v.lastModified));
    }
  }
}

/**
 * A function's published versions, except those an alias points to (in use). By name: the
 * function's ARN works against AWS, but moto answers these two calls only by name.
 */
async function publishedVersions(
  lambda: LambdaClient,
  name: string,
): Promise<{ version: string; lastModified?: string }[]> {
  const aliased = new Set<string>();
  for await (const page of paginateListAliases({ client: lambda }, { FunctionName: name })) {
    for (const alias of page.Aliases ?? []) {
      if (alias.FunctionVersion) aliased.add(alias.FunctionVersion);
      for (const v of Object.keys(alias.RoutingConfig?.AdditionalVersionWeights ?? {})) aliased.add(v);
    }
  }
  const versions: { version: string; lastModified?: string }[] = [];
  for await (const page of paginateListVersionsByFunction({ client: lambda }, { FunctionName: name })) {
    for (const v of page.Versions ?? []) {
      const version = String(v.Version ?? '');
      if (/^[0-9]+$/.test(version) && !aliased.has(version))
        versions.push({ version, lastModified: v.LastModified });
    }
  }
  return versions;
}

/** Delete a function (with its versions). */
export async function deleteFunction(lambda: LambdaClient, arn: string): Promise<void> {
  await lambda.send(new DeleteFunctionCommand({ FunctionName: arn }));
}

/** Delete one published version: `function:<name>:<number>`. */
export async function deleteVersion(lambda: LambdaClient, arn: string): Promise<void> {
  const at = arn.lastIndexOf(':');
  await lambda.send(
    new DeleteFunctionCommand({ FunctionName: arn.slice(0, at), Qualifier: arn.slice(at + 1) }),
  );
}
