/**
 * FreezeAccount's exemption: the exact ARN of the orchestrator's deploy role in each sandbox
 * account. config/org.yaml writes one ARN with {@link SANDBOX_ACCOUNT_ID} where the account id
 * goes; the org planner expands it into one ARN per sandbox account it finds in the live
 * organization. A wildcard (`arn:aws:iam::*:role/sv0-orchestrator-*`) is refused: any principal of
 * a sandbox account that may create a role with a matching name would escape the freeze.
 *
 * Pure code: the planner runs inside workflows.
 */

/** The token FreezeAccount's document carries where each sandbox account's id goes. */
export const SANDBOX_ACCOUNT_ID = '<sandbox-account-id>';

/** The condition key FreezeAccount exempts principals by. */
const PRINCIPAL_ARN = 'aws:principalarn';

const TEMPLATE = /^arn:aws:iam::<sandbox-account-id>:role\/([\w+=,.@-]{1,64})$/;

/** The ARN of a role (path `/`) in an account, as `aws:PrincipalArn` names it for its sessions. */
export function roleArn(accountId: string, roleName: string): string {
  return `arn:aws:iam::${accountId}:role/${roleName}`;
}

/** The ARN org.yaml writes in FreezeAccount for a role of every sandbox account. */
export function exemptionTemplate(roleName: string): string {
  return roleArn(SANDBOX_ACCOUNT_ID, roleName);
}

type Condition = Record<string, Record<string, unknown>>;

function statements(doc: Record<string, unknown>): Record<string, unknown>[] {
  const s = doc.Statement;
  const list = Array.isArray(s) ? s : s ? [s] : [];
  return list.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null);
}

/** Every `aws:PrincipalArn` value list of a document (condition keys are case-insensitive in IAM). */
function principalArnLists(doc: Record<string, unknown>): { values: unknown[]; operator: string }[] {
  const found: { values: unknown[]; operator: string }[] = [];
  for (const s of statements(doc)) {
    for (const [operator, keys] of Object.entries((s.Condition ?? {}) as Condition)) {
      for (const [key, value] of Object.entries(keys ?? {})) {
        if (key.toLowerCase() === PRINCIPAL_ARN)
          found.push({ operator, values: Array.isArray(value) ? value : [value] });
      }
    }
  }
  return found;
}

/** The `aws:PrincipalArn` values a document exempts, in order (for plans and the guard's check). */
export function exemptedPrincipals(doc: Record<string, unknown>): string[] {
  return principalArnLists(doc).flatMap((l) => l.values.filter((v): v is string => typeof v === 'string'));
}

/**
 * Why FreezeAccount's declared document is not acceptable, or nothing: it must exempt at least one
 * role by {@link exemptionTemplate} in a negated ARN condition (`ArnNotEquals` / `ArnNotLike`),
 * each such role must be one org.yaml places in every sandbox account (`deployedRoles`), and no
 * exempted ARN may hold a wildcard.
 */
export function freezeExemptionProblems(
  doc: Record<string, unknown>,
  deployedRoles: ReadonlySet<string>,
): string[] {
  const problems: string[] = [];
  const example = exemptionTemplate('sv0-orchestrator-deploy');
  let templates = 0;
  for (const { operator, values } of principalArnLists(doc)) {
    for (const v of values) {
      if (typeof v !== 'string') {
        problems.push(`aws:PrincipalArn values are ARN strings`);
        continue;
      }
      if (/[*?]/.test(v)) {
        problems.push(
          `"${v}" exempts by wildcard: any principal of a sandbox account allowed to create a role of a matching name would escape the freeze; name the role exactly, as "${example}" (the org planner writes in each sandbox account's id)`,
        );
        continue;
      }
      const m = TEMPLATE.exec(v);
      if (!m) continue;
      if (!/^ArnNot(Equals|Like)$/.test(operator)) {
        problems.push(`"${v}" must sit under ArnNotEquals (or ArnNotLike), not ${operator}`);
        continue;
      }
      templates++;
      if (!deployedRoles.has(m[1]!)) {
        problems.push(
          `"${v}" names role ${m[1]}, which crossAccountRoles does not place in every sandbox account (accounts: sandbox); teardown in a frozen account needs that role`,
        );
      }
    }
  }
  if (templates === 0 && problems.length === 0) {
    problems.push(
      `must exempt the orchestrator's deploy role by exact ARN, as "${example}" in an ArnNotEquals aws:PrincipalArn condition, so teardown and the sweep still work in a frozen account`,
    );
  }
  return problems;
}

/**
 * The document (minified JSON) with each exemption template replaced by one ARN per sandbox account id, in the
 * order given. A list left empty (no sandbox account exists yet) is dropped with its operator, so
 * the document stays one AWS accepts; the planner notes that the exemption follows at the next apply.
 */
export function expandFreezeExemption(content: string, sandboxAccountIds: readonly string[]): string {
  const expand = (values: unknown[]) =>
    values.flatMap((v) => {
      const m = typeof v === 'string' ? TEMPLATE.exec(v) : null;
      return m ? sandboxAccountIds.map((id) => roleArn(id, m[1]!)) : [v];
    });
  const out = JSON.parse(content) as Record<string, unknown>;
  for (const s of statements(out)) {
    const condition = s.Condition as Condition | undefined;
    if (!condition) continue;
    for (const [operator, keys] of Object.entries(condition)) {
      for (const [key, value] of Object.entries(keys ?? {})) {
        if (key.toLowerCase() !== PRINCIPAL_ARN) continue;
        const values = expand(Array.isArray(value) ? value : [value]);
        if (values.length) keys[key] = values;
        else delete keys[key];
      }
      if (Object.keys(keys ?? {}).length === 0) delete condition[operator];
    }
    if (Object.keys(condition).length === 0) delete s.Condition;
  }
  return JSON.stringify(out);
}

/** True when a document (minified JSON text) still holds the token for the planner to expand. */
export function hasExemptionTemplate(content: string): boolean {
  return content.includes(SANDBOX_ACCOUNT_ID);
}
