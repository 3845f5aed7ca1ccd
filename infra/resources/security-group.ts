// Security groups: created tagged in the default VPC with exactly the inbound rules asked for (any other rule is revoked on rerun); down deletes only the tagged groups.
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcsCommand,
  RevokeSecurityGroupIngressCommand,
  type IpPermission,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import { isAwsError, retryUntilVisible, type AwsDeps } from '../aws-clients.js';
import {
  APP_PORT,
  assertStackOwns,
  stackNames,
  stackTagFilters,
  stackTags,
  tagFiltersCli,
  tagListCli,
  type StackSettings,
  type UpSettings,
} from '../stack.js';
import type { StackState } from '../state.js';
import { required, retryWithBackoff, seconds, type Step } from '../step.js';

/** One inbound TCP rule: a port open to an IPv4 range or to the members of another security group. */
export type IngressRule = { port: number; description: string } & ({ cidr: string } | { sourceGroupId: string });

export const GROUP_DELETION_BUDGET_MS = 180_000;

/** The default VPC of the region; the demo creates no network of its own. */
export async function defaultVpcId({ aws }: AwsDeps, region: string): Promise<string> {
  const { Vpcs = [] } = await aws.ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }));
  const vpcId = Vpcs[0]?.VpcId;
  if (!vpcId)
    throw new Error(
      `Region ${region} has no default VPC. Create one with \`aws ec2 create-default-vpc --region ${region}\`, or use another region.`,
    );
  return vpcId;
}

function groupTags(settings: StackSettings) {
  return [{ Key: 'Name', Value: settings.stack }, ...stackTags(settings)];
}

export function createGroupCli(settings: StackSettings, groupName: string, variable: string): string {
  return `${variable}=$(aws ec2 create-security-group --region ${settings.region} --group-name ${groupName} --description 'S3 Photo Share demo (${settings.stack})' --vpc-id "$VPC_ID" --tag-specifications 'ResourceType=security-group,Tags=${tagListCli(groupTags(settings))}' --query GroupId --output text)`;
}

/** Each source of a permission as its own single-source permission, so one stale source can be revoked without the others. */
function singleSourcePermissions(rule: IpPermission): IpPermission[] {
  const { IpProtocol, FromPort, ToPort } = rule;
  const sources: IpPermission[] = [
    ...(rule.IpRanges ?? []).map((range) => ({ IpRanges: [range] })),
    ...(rule.Ipv6Ranges ?? []).map((range) => ({ Ipv6Ranges: [range] })),
    ...(rule.PrefixListIds ?? []).map((prefixList) => ({ PrefixListIds: [prefixList] })),
    ...(rule.UserIdGroupPairs ?? []).map((pair) => ({ UserIdGroupPairs: [{ GroupId: pair.GroupId }] })),
  ];
  return sources.map((source) => ({ IpProtocol, FromPort, ToPort, ...source }));
}

function grants(permission: IpPermission, rule: IngressRule): boolean {
  if (permission.IpProtocol !== 'tcp' || permission.FromPort !== rule.port || permission.ToPort !== rule.port) return false;
  return 'cidr' in rule ? permission.IpRanges?.[0]?.CidrIp === rule.cidr : permission.UserIdGroupPairs?.[0]?.GroupId === rule.sourceGroupId;
}

function describeRule(rule: IngressRule): string {
  return `TCP ${rule.port} from ${'cidr' in rule ? rule.cidr : rule.sourceGroupId}`;
}

/**
 * Creates the group tagged as the stack's, or reuses this stack's group of that name; then revokes every inbound rule
 * not in `rules` and authorizes the missing ones. A group of that name without the stack tags is refused. Returns its id.
 */
export async function ensureSecurityGroup(
  deps: AwsDeps,
  settings: StackSettings,
  vpcId: string,
  groupName: string,
  rules: readonly IngressRule[],
): Promise<string> {
  const { aws, log } = deps;
  // Read first, so a rerun with nothing to change sends no write at all.
  const { SecurityGroups = [] } = await aws.ec2.send(
    new DescribeSecurityGroupsCommand({
      Filters: [
        { Name: 'group-name', Values: [groupName] },
        { Name: 'vpc-id', Values: [vpcId] },
      ],
    }),
  );
  const existing = SecurityGroups[0];
  let groupId = existing?.GroupId;
  const ingress = existing?.IpPermissions ?? [];
  if (existing) {
    assertStackOwns(existing.Tags, settings, `Security group ${groupName}`);
    log(`Reusing security group ${groupName} (${groupId})`);
  } else {
    ({ GroupId: groupId } = await aws.ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: groupName,
        Description: `S3 Photo Share demo (${settings.stack})`,
        VpcId: vpcId,
        TagSpecifications: [{ ResourceType: 'security-group', Tags: groupTags(settings) }],
      }),
    ));
    log(`Created security group ${groupName} (${groupId}) in ${vpcId}`);
  }
  const id = required(groupId, 'the security group id');

  const current = ingress.flatMap(singleSourcePermissions);
  const stale = current.filter((permission) => !rules.some((rule) => grants(permission, rule)));
  if (stale.length > 0) {
    await aws.ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: stale }));
    log(`Revoked ${stale.length} inbound rule(s) of ${groupName} other than ${rules.map(describeRule).join(', ')}`);
  }
  const missing = rules.filter((rule) => !current.some((permission) => grants(permission, rule)));
  if (missing.length === 0) {
    log(`${groupName} already allows exactly ${rules.map(describeRule).join(', ')}`);
    return id;
  }
  // The group, or a group a rule names, may have been created a moment ago: EC2 answers InvalidGroup.NotFound until it shows.
  const sourceGroups = missing.flatMap((rule) => ('sourceGroupId' in rule ? [` or ${rule.sourceGroupId}`] : []));
  await retryUntilVisible(
    deps,
    `security group ${id}${sourceGroups.join('')}`,
    () =>
      aws.ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: id,
          IpPermissions: missing.map((rule) => ({
            IpProtocol: 'tcp',
            FromPort: rule.port,
            ToPort: rule.port,
            ...('cidr' in rule
              ? { IpRanges: [{ CidrIp: rule.cidr, Description: rule.description }] }
              : { UserIdGroupPairs: [{ GroupId: rule.sourceGroupId, Description: rule.description }] }),
          })),
        }),
      ),
    'InvalidGroup.NotFound',
  );
  log(`${groupName} now allows ${missing.map(describeRule).join(', ')}`);
  return id;
}

export function securityGroupUpStep(settings: UpSettings): Step<AwsDeps, StackState> {
  const { region, stack, allowCidr } = settings;
  const names = stackNames(stack);
  return {
    title: `Create the security group ${names.securityGroupName}: TCP ${APP_PORT} from ${allowCidr} only, no SSH`,
    why: 'Only the app port is reachable, and only from the network you named; any other inbound rule is revoked. Outbound traffic stays open because boot installs Node from the AL2023 repositories and dependencies from the npm registry.',
    cli: [
      `VPC_ID=$(aws ec2 describe-vpcs --region ${region} --filters Name=is-default,Values=true --query 'Vpcs[0].VpcId' --output text)`,
      createGroupCli(settings, names.securityGroupName, 'SG_ID'),
      `aws ec2 authorize-security-group-ingress --region ${region} --group-id "$SG_ID" --protocol tcp --port ${APP_PORT} --cidr ${allowCidr}`,
    ],
    run: async (deps, state) => {
      const vpcId = await defaultVpcId(deps, region);
      state.securityGroupId = await ensureSecurityGroup(deps, settings, vpcId, names.securityGroupName, [
        { port: APP_PORT, cidr: allowCidr, description: 'S3 Photo Share HTTP' },
      ]);
    },
  };
}

/** The stack's groups, those whose rules name another group first: a group still named in another's rule cannot be deleted. */
export async function stackSecurityGroups({ aws }: AwsDeps, settings: StackSettings): Promise<SecurityGroup[]> {
  const { SecurityGroups = [] } = await aws.ec2.send(new DescribeSecurityGroupsCommand({ Filters: stackTagFilters(settings) }));
  const referencesAnother = (group: SecurityGroup) => (group.IpPermissions ?? []).some((rule) => (rule.UserIdGroupPairs ?? []).length > 0);
  return [...SecurityGroups].sort((a, b) => Number(referencesAnother(b)) - Number(referencesAnother(a)));
}

/** Deletes one group, retrying while network interfaces (of terminated instances or a deleted load balancer) still hold it. */
export async function deleteSecurityGroup(deps: AwsDeps, group: SecurityGroup): Promise<void> {
  await retryWithBackoff(
    () => deps.aws.ec2.send(new DeleteSecurityGroupCommand({ GroupId: group.GroupId })),
    {
      isRetryable: (error) => isAwsError(error, 'DependencyViolation'),
      describeWait: (delayMs) => `${group.GroupId} is still in use by a network interface; retrying in ${seconds(delayMs)}`,
      firstDelayMs: 5_000,
      maxDelayMs: 20_000,
      budgetMs: GROUP_DELETION_BUDGET_MS,
    },
    deps,
  );
  deps.log(`Deleted security group ${group.GroupName} (${group.GroupId})`);
}

export function securityGroupDownStep(settings: StackSettings): Step<AwsDeps, StackState> {
  const { region } = settings;
  const names = stackNames(settings.stack);
  return {
    title: `Delete the security groups of the stack (${names.securityGroupName}, ${names.appSecurityGroupName}, ${names.loadBalancerSecurityGroupName})`,
    why: 'Only groups carrying this stack’s three tags (the filter selects nothing else). Network interfaces are released a little after termination, so a DependencyViolation is retried for a while; a group named in another group’s rule goes after that one.',
    cli: [
      `SG_IDS=$(aws ec2 describe-security-groups --region ${region} --filters ${tagFiltersCli(settings)} --query 'SecurityGroups[].GroupId' --output text)`,
      `for SG_ID in $SG_IDS; do aws ec2 delete-security-group --region ${region} --group-id "$SG_ID"; done   # ${names.appSecurityGroupName} before ${names.loadBalancerSecurityGroupName}, which its rule names`,
    ],
    run: async (deps) => {
      const groups = await stackSecurityGroups(deps, settings);
      if (groups.length === 0) deps.log('No security group of this stack is left');
      for (const group of groups) await deleteSecurityGroup(deps, group);
    },
  };
}
