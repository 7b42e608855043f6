/**
 * org.yaml's RegionLock: an SCP, declared and checked in serviceControlPolicies like any other, that
 * denies every region but those it lists.
 */
import type { OrgConfig } from './org';
import { policyContent, policyStatements } from './policy-document';

/**
 * The regions org.yaml's SCPs leave open (RegionLock: a Deny with `StringNotEquals` on
 * `aws:RequestedRegion`), the intersection when several lock regions; undefined when none does.
 * The sweep reads every one of them.
 */
export function allowedRegions(org: Pick<OrgConfig, 'serviceControlPolicies'>): string[] | undefined {
  let allowed: string[] | undefined;
  for (const scp of org.serviceControlPolicies) {
    const content = policyContent(scp.document);
    if ('error' in content) continue;
    for (const st of policyStatements(content.value) as {
      Effect?: string;
      Condition?: Record<string, Record<string, unknown>>;
    }[]) {
      if (st?.Effect !== 'Deny') continue;
      for (const [operator, keys] of Object.entries(st.Condition ?? {})) {
        if (!/^StringNotEquals(IgnoreCase)?$/.test(operator)) continue;
        const value = keys?.['aws:RequestedRegion'];
        if (value === undefined) continue;
        const regions = (Array.isArray(value) ? value : [value]).map(String);
        allowed = allowed ? allowed.filter((r) => regions.includes(r)) : regions;
      }
    }
  }
  return allowed;
}
