import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadBudgetsConfig, loadOrgConfig } from '../../lib/runtime/config';
import { ConfigError } from '../../lib/config/validate';
import { deployRoleFor, SCP_MAX_CHARS } from '../../lib/config/org';
import { allowedRegions } from '../../lib/config/region-lock';
import { declaredOwners } from '../../lib/config/tag-policy';
import { tagValueAllowed } from '../../lib/org/tag-policy';
import { buildDesiredOrg, placeholderEmailErrors } from '../../lib/org/desired';

const CONFIG = path.resolve(__dirname, '../../config');

// Tests reach into the parsed YAML freely; the schema under test is what checks its shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Yaml = Record<string, any>;

/** A config folder holding the shipped files, with org.yaml changed by `edit` (on the parsed YAML). */
function configWith(edit: (org: Yaml) => void): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sv0-org-'));
  const org = parseDocument(readFileSync(path.join(CONFIG, 'org.yaml'), 'utf8')).toJS() as Yaml;
  edit(org);
  writeFileSync(path.join(dir, 'org.yaml'), JSON.stringify(org));
  writeFileSync(path.join(dir, 'budgets.yaml'), readFileSync(path.join(CONFIG, 'budgets.yaml')));
  return dir;
}

function problems(dir: string): string {
  try {
    loadOrgConfig(dir);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('config/org.yaml', () => {
  it('holds the declared organization', () => {
    const org = loadOrgConfig(CONFIG);
    expect(org.organizationalUnits.map((o) => o.name)).toEqual(['Platform', 'Sandbox', 'Security']);
    expect(org.accounts.map((a) => [a.name, a.ou, a.sandbox])).toEqual([
      ['sv0-platform', 'Platform', false],
      ['sv0-demo', 'Sandbox', true],
      ['sv0-security-tooling', 'Security', false],
    ]);
    expect(org.serviceControlPolicies.map((p) => [p.name, p.targets])).toEqual([
      ['RegionLock', ['root']],
      ['DenyExpensiveServices', ['Sandbox']],
      ['DenyLargeEC2', ['Sandbox']],
      ['RestrictBedrockModels', ['Sandbox']],
      ['FreezeAccount', []],
    ]);
    for (const a of org.accounts) {
      expect(Object.keys(a.tags).sort()).toEqual([
        'sv0:environment',
        'sv0:ephemeral',
        'sv0:owner',
        'sv0:project',
        'sv0:ttl',
      ]);
    }
    expect(deployRoleFor(org, 'sv0-demo')?.roleName).toBe('sv0-orchestrator-deploy');
    expect(deployRoleFor(org, 'sv0-platform')).toBeUndefined();
  });

  it('expands the deploy role into each sandbox account and keeps FreezeAccount unattached', () => {
    const org = loadOrgConfig(CONFIG);
    const desired = buildDesiredOrg(org, loadBudgetsConfig(CONFIG, org));
    expect(desired.roles.map((r) => `${r.name}@${r.account}<-${r.trustedAccount}`)).toEqual([
      'SecurityV0-ReadOnly@sv0-security-tooling<-sv0-platform',
      'sv0-orchestrator-deploy@sv0-demo<-management',
    ]);
    const freeze = desired.policies.find((p) => p.name === 'FreezeAccount')!;
    expect(freeze.targets).toEqual([]);
    expect(JSON.parse(freeze.content).Statement[0].Condition).toEqual({
      ArnNotEquals: {
        'aws:PrincipalArn': ['arn:aws:iam::<sandbox-account-id>:role/sv0-orchestrator-deploy'],
      },
    });
    expect(desired.budgets.map((b) => [b.name, b.amount, b.notify])).toEqual([
      ['total', 500, [50, 80, 100]],
      ['sv0-demo', 200, [80]],
      ['sv0-platform', 300, [80, 100]],
      ['sv0-security-tooling', 50, [80, 100]],
    ]);
  });

  it('refuses an SCP document over 5,120 characters, naming file and field', () => {
    const dir = configWith((org) => {
      org.serviceControlPolicies[1].document = JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Deny',
            Action: Array.from({ length: 400 }, (_, i) => `service${i}:Action`),
            Resource: '*',
          },
        ],
      });
    });
    const text = problems(dir);
    expect(text).toContain('org.yaml: serviceControlPolicies[1].document: the document is');
    expect(text).toContain(`AWS allows ${SCP_MAX_CHARS}`);
  });

  it('refuses an SCP document that is not valid JSON', () => {
    const dir = configWith((org) => {
      org.serviceControlPolicies[0].document = '{"Version": "2012-10-17", "Statement": [';
    });
    expect(problems(dir)).toMatch(/serviceControlPolicies\[0\]\.document: not valid JSON/);
  });

  it('refuses an empty region list in the region lock', () => {
    const dir = configWith((org) => {
      const doc = JSON.parse(org.serviceControlPolicies[0].document);
      doc.Statement[0].Condition.StringNotEquals['aws:RequestedRegion'] = [];
      org.serviceControlPolicies[0].document = JSON.stringify(doc);
    });
    expect(problems(dir)).toContain('aws:RequestedRegion: the region list is empty');
  });

  it('refuses duplicate account names and emails', () => {
    const dir = configWith((org) => {
      org.accounts[2].name = 'sv0-demo';
      org.accounts[1].email = org.accounts[0].email;
    });
    const text = problems(dir);
    expect(text).toContain('accounts[2].name: account "sv0-demo" is declared twice');
    expect(text).toContain(
      'accounts[1].email: email aws-sv0-platform@example.com is used by another account',
    );
  });

  it('refuses sweepUntagged on an account that is not a sandbox', () => {
    const dir = configWith((org) => {
      org.accounts[0].sweepUntagged = true;
    });
    expect(problems(dir)).toContain(
      'accounts[0].sweepUntagged: the sweep acts only in sandbox accounts; mark the account sandbox: true or remove sweepUntagged',
    );
    expect(loadOrgConfig(CONFIG).accounts.find((a) => a.name === 'sv0-demo')?.sweepUntagged).toBe(false);
  });

  it('refuses an account in an OU that is not declared', () => {
    const dir = configWith((org) => {
      org.accounts[1].ou = 'Sandbx';
    });
    expect(problems(dir)).toContain('accounts[1].ou: OU "Sandbx" is not declared');
  });

  it('refuses FreezeAccount with targets and a target that names nothing', () => {
    const dir = configWith((org) => {
      org.serviceControlPolicies[4].targets = ['Sandbox'];
      org.serviceControlPolicies[0].targets = ['Nowhere'];
    });
    const text = problems(dir);
    expect(text).toContain(
      'serviceControlPolicies[4].targets: FreezeAccount is attached only by the budget guard',
    );
    expect(text).toContain('serviceControlPolicies[0].targets[0]: "Nowhere" is neither');
  });

  it("refuses FreezeAccount's old wildcard exemption, saying who would escape the freeze", () => {
    const dir = configWith((org) => {
      const doc = JSON.parse(org.serviceControlPolicies[4].document);
      doc.Statement[0].Condition = {
        ArnNotLike: { 'aws:PrincipalArn': ['arn:aws:iam::*:role/sv0-orchestrator-*'] },
      };
      org.serviceControlPolicies[4].document = JSON.stringify(doc);
    });
    const text = problems(dir);
    expect(text).toContain(
      'serviceControlPolicies[4].document: FreezeAccount "arn:aws:iam::*:role/sv0-orchestrator-*" exempts by wildcard',
    );
    expect(text).toContain('allowed to create a role of a matching name would escape the freeze');
    expect(text).toContain('"arn:aws:iam::<sandbox-account-id>:role/sv0-orchestrator-deploy"');
  });

  it('refuses a FreezeAccount without the exemption, or exempting a role no sandbox account has', () => {
    const without = configWith((org) => {
      const doc = JSON.parse(org.serviceControlPolicies[4].document);
      delete doc.Statement[0].Condition;
      org.serviceControlPolicies[4].document = JSON.stringify(doc);
    });
    expect(problems(without)).toContain(
      "serviceControlPolicies[4].document: FreezeAccount must exempt the orchestrator's deploy role by exact ARN",
    );
    const unknownRole = configWith((org) => {
      org.serviceControlPolicies[4].document = org.serviceControlPolicies[4].document.replace(
        'role/sv0-orchestrator-deploy',
        'role/sv0-orchestrator-other',
      );
    });
    expect(problems(unknownRole)).toContain(
      'names role sv0-orchestrator-other, which crossAccountRoles does not place in every sandbox account',
    );
    const equalsOperator = configWith((org) => {
      org.serviceControlPolicies[4].document = org.serviceControlPolicies[4].document.replace(
        'ArnNotEquals',
        'ArnEquals',
      );
    });
    expect(problems(equalsOperator)).toContain('must sit under ArnNotEquals (or ArnNotLike), not ArnEquals');
  });

  it('refuses the sandbox account id token outside FreezeAccount', () => {
    const dir = configWith((org) => {
      const doc = JSON.parse(org.serviceControlPolicies[1].document);
      doc.Statement[0].Resource = 'arn:aws:iam::<sandbox-account-id>:role/x';
      org.serviceControlPolicies[1].document = JSON.stringify(doc);
    });
    expect(problems(dir)).toContain(
      "serviceControlPolicies[1].document: <sandbox-account-id> is filled in only in FreezeAccount's exemption",
    );
  });

  it('refuses placeholder emails only against real AWS', () => {
    const org = loadOrgConfig(CONFIG);
    const budgets = loadBudgetsConfig(CONFIG, org);
    const errors = placeholderEmailErrors(org, budgets, {
      org: 'config/org.yaml',
      budgets: 'config/budgets.yaml',
    });
    expect(errors.map((e) => e.file)).toEqual(['config/org.yaml', 'config/budgets.yaml']);
    expect(errors[0]!.message).toContain(
      'config/org.yaml: accounts[0].email: aws-sv0-platform@example.com is a placeholder',
    );
    const real = {
      ...org,
      accounts: org.accounts.map((a) => ({ ...a, email: a.email.replace('example.com', 'securityv0.com') })),
      identityCenter: undefined,
    };
    const realBudgets = {
      budgets: budgets.budgets.map((b) => ({ ...b, subscribers: ['billing@securityv0.com'] })),
    };
    expect(placeholderEmailErrors(real, realBudgets, { org: 'o', budgets: 'b' })).toEqual([]);
  });

  describe('tagPolicy', () => {
    it('declares the owners once, and demo owners are checked against them', () => {
      const org = loadOrgConfig(CONFIG);
      expect(declaredOwners(org)).toEqual(['ivan', 'automated', 'demo-script']);
      expect(tagValueAllowed('demo-cross-account-trust', org.tagPolicy!.values['sv0:project']!)).toBe(true);
      expect(tagValueAllowed('customer-x', org.tagPolicy!.values['sv0:project']!)).toBe(false);
      expect(declaredOwners({ ...org, tagPolicy: undefined })).toBeUndefined();
    });

    it('refuses an account tag the policy does not allow, naming the account field and the allowed values', () => {
      const dir = configWith((org) => {
        org.accounts[0].tags['sv0:owner'] = 'mallory';
        org.accounts[2].tags['sv0:environment'] = 'staging';
      });
      const text = problems(dir);
      expect(text).toContain(
        'org.yaml: accounts[0].tags.sv0:owner: "mallory" is not an allowed value of sv0:owner (tagPolicy.values: ivan, automated, demo-script)',
      );
      expect(text).toContain('accounts[2].tags.sv0:environment: "staging" is not an allowed value');
    });

    it('refuses a policy that would make demo stacks noncompliant, or lists per-demo keys, or names no owners', () => {
      const dir = configWith((org) => {
        org.tagPolicy.values['sv0:project'] = ['platform', 'connector-test', 'demo-acme'];
        org.tagPolicy.values['sv0:environment'] = ['prod', 'dev', 'test'];
        org.tagPolicy.values['sv0:ttl'] = ['2h', '4h'];
        delete org.tagPolicy.values['sv0:owner'];
        org.tagPolicy.targets = ['Nowhere'];
        // The accounts' own demo tags would now fail too; keep this test to the policy's fields.
        org.accounts[1].tags['sv0:environment'] = 'test';
        org.accounts[1].tags['sv0:project'] = 'platform';
      });
      const text = problems(dir);
      expect(text).toContain(
        'tagPolicy.values.sv0:project: demo stacks are tagged sv0:project=demo-<scenario>; allow demo-*',
      );
      expect(text).toContain(
        'tagPolicy.values.sv0:environment: demo stacks are tagged sv0:environment=demo; allow demo',
      );
      expect(text).toContain('tagPolicy.values.sv0:ttl: sv0:ttl differs per demo');
      expect(text).toContain('tagPolicy.values: declare the owners under sv0:owner');
      expect(text).toContain('tagPolicy.targets[0]: "Nowhere" is neither');
    });

    it('refuses a wildcard anywhere but at the end of a value, and an enforcedFor that is no resource type', () => {
      const dir = configWith((org) => {
        org.tagPolicy.values['sv0:project'] = ['demo-*', '*-prod'];
        org.tagPolicy.enforcedFor = ['s3 buckets'];
      });
      const text = problems(dir);
      expect(text).toContain('tagPolicy.values.sv0:project[1]: an allowed value is a tag value');
      expect(text).toContain('tagPolicy.enforcedFor[0]: write service:resourceType');
    });

    it('writes enforcedFor into every statement', () => {
      const dir = configWith((org) => {
        org.tagPolicy.enforcedFor = ['s3:bucket', 'dynamodb:ALL_SUPPORTED'];
      });
      const org = loadOrgConfig(dir);
      const doc = JSON.parse(buildDesiredOrg(org, loadBudgetsConfig(dir, org)).tagPolicy!.content);
      expect(doc.tags['sv0:owner'].enforced_for).toEqual({
        '@@assign': ['s3:bucket', 'dynamodb:ALL_SUPPORTED'],
      });
    });
  });
});

describe('allowedRegions: the regions the sweep reads, from the SCPs of org.yaml', () => {
  const scp = (name: string, regions: unknown, operator = 'StringNotEquals') => ({
    name,
    description: '',
    targets: ['root'],
    document: JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Deny',
          NotAction: ['iam:*'],
          Resource: '*',
          Condition: { [operator]: { 'aws:RequestedRegion': regions } },
        },
      ],
    }),
  });
  it("config/org.yaml's RegionLock: us-east-1 and us-west-2", () => {
    expect(allowedRegions(loadOrgConfig(path.resolve(__dirname, '../../config')))).toEqual([
      'us-east-1',
      'us-west-2',
    ]);
  });
  it('two region locks: the regions both allow; a single string; none: undefined', () => {
    expect(
      allowedRegions({
        serviceControlPolicies: [
          scp('A', ['us-east-1', 'us-west-2', 'eu-west-1']),
          scp('B', ['eu-west-1', 'us-west-2']),
        ],
      }),
    ).toEqual(['us-west-2', 'eu-west-1']);
    expect(allowedRegions({ serviceControlPolicies: [scp('A', 'eu-central-1')] })).toEqual(['eu-central-1']);
    expect(
      allowedRegions({ serviceControlPolicies: [scp('A', ['us-east-1'], 'StringEquals')] }),
    ).toBeUndefined();
    expect(allowedRegions({ serviceControlPolicies: [] })).toBeUndefined();
  });
});
