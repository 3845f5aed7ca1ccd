// The security group: TCP 80 from one CIDR, created tagged in the default VPC; its rules converge on rerun, and down deletes only the tagged group.
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcsCommand,
  RevokeSecurityGroupIngressCommand,
  type IpPermission,
} from '@aws-sdk/client-ec2';
import { isAwsError, type AwsDeps } from '../aws-clients.js';
import {
  APP_PORT,
  assertStackOwns,
  stackNames,
  stackTagFilters,
  stackTags,
  tagFiltersCli,
  type StackSettings,
  type UpSettings,
} from '../stack.js';
import type { StackState } from '../state.js';
import { required, retryWithBackoff, seconds, type Step } from '../step.js';

export function securityGroupUpStep(settings: UpSettings): Step<AwsDeps, StackState> {
  const { region, stack, allowCidr } = settings;
  const names = stackNames(stack);
  const tags = [{ Key: 'Name', Value: stack }, ...stackTags(settings)];
  const ec2TagsCli = tags.map((tag) => `{Key=${tag.Key},Value=${tag.Value}}`).join(',');
  return {
    title: `Create the security group ${names.securityGroupName}: TCP ${APP_PORT} from ${allowCidr} only, no SSH`,
    why: 'Only the app port is reachable, and only from the network you named; any other inbound rule is revoked. Outbound traffic stays open because boot installs Node from the AL2023 repositories and dependencies from the npm registry.',
    cli: [
      `VPC_ID=$(aws ec2 describe-vpcs --region ${region} --filters Name=is-default,Values=true --query 'Vpcs[0].VpcId' --output text)`,
      `SG_ID=$(aws ec2 create-security-group --region ${region} --group-name ${names.securityGroupName} --description 'S3 Photo Share demo (${stack})' --vpc-id "$VPC_ID" --tag-specifications 'ResourceType=security-group,Tags=[${ec2TagsCli}]' --query GroupId --output text)`,
      `aws ec2 authorize-security-group-ingress --region ${region} --group-id "$SG_ID" --protocol tcp --port ${APP_PORT} --cidr ${allowCidr}`,
    ],
    run: async ({ aws, log }, state) => {
      const { Vpcs = [] } = await aws.ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }));
      const vpcId = Vpcs[0]?.VpcId;
      if (!vpcId)
        throw new Error(
          `Region ${region} has no default VPC. Create one with \`aws ec2 create-default-vpc --region ${region}\`, or use another region.`,
        );

      let ingress: IpPermission[] = [];
      try {
        const { GroupId } = await aws.ec2.send(
          new CreateSecurityGroupCommand({
            GroupName: names.securityGroupName,
            Description: `S3 Photo Share demo (${stack})`,
            VpcId: vpcId,
            TagSpecifications: [{ ResourceType: 'security-group', Tags: tags }],
          }),
        );
        state.securityGroupId = GroupId;
        log(`Created security group ${GroupId} in ${vpcId}`);
      } catch (error) {
        if (!isAwsError(error, 'InvalidGroup.Duplicate')) throw error;
        const { SecurityGroups = [] } = await aws.ec2.send(
          new DescribeSecurityGroupsCommand({
            Filters: [
              { Name: 'group-name', Values: [names.securityGroupName] },
              { Name: 'vpc-id', Values: [vpcId] },
            ],
          }),
        );
        const group = SecurityGroups[0];
        assertStackOwns(group?.Tags, settings, `Security group ${names.securityGroupName}`);
        state.securityGroupId = group?.GroupId;
        ingress = group?.IpPermissions ?? [];
        log(`Reusing security group ${state.securityGroupId}`);
      }
      const groupId = required(state.securityGroupId, 'the security group id');

      const isAppPortRule = (rule: IpPermission) => rule.IpProtocol === 'tcp' && rule.FromPort === APP_PORT && rule.ToPort === APP_PORT;
      const stale = ingress.flatMap((rule) =>
        isAppPortRule(rule)
          ? (rule.IpRanges ?? [])
              .filter((range) => range.CidrIp !== allowCidr)
              .map((range) => ({ IpProtocol: rule.IpProtocol, FromPort: rule.FromPort, ToPort: rule.ToPort, IpRanges: [range] }))
          : [rule],
      );
      if (stale.length > 0) {
        await aws.ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: stale }));
        log(`Revoked ${stale.length} inbound rule(s) other than TCP ${APP_PORT} from ${allowCidr}`);
      }
      if (ingress.some((rule) => isAppPortRule(rule) && rule.IpRanges?.some((range) => range.CidrIp === allowCidr))) {
        log(`TCP ${APP_PORT} from ${allowCidr} is already allowed`);
        return;
      }
      await aws.ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: groupId,
          IpPermissions: [
            {
              IpProtocol: 'tcp',
              FromPort: APP_PORT,
              ToPort: APP_PORT,
              IpRanges: [{ CidrIp: allowCidr, Description: 'S3 Photo Share HTTP' }],
            },
          ],
        }),
      );
      log(`Allowed TCP ${APP_PORT} from ${allowCidr}`);
    },
  };
}

export function securityGroupDownStep(settings: StackSettings): Step<AwsDeps, StackState> {
  const { region } = settings;
  const names = stackNames(settings.stack);
  return {
    title: `Delete the security group ${names.securityGroupName}`,
    why: 'Only the group carrying this stack’s three tags (the filter selects nothing else). Its network interfaces are released a little after termination, so a DependencyViolation is retried for a while.',
    cli: [
      `SG_ID=$(aws ec2 describe-security-groups --region ${region} --filters ${tagFiltersCli(settings)} --query 'SecurityGroups[0].GroupId' --output text)`,
      `aws ec2 delete-security-group --region ${region} --group-id "$SG_ID"`,
    ],
    run: async (deps) => {
      const { aws, log } = deps;
      const { SecurityGroups = [] } = await aws.ec2.send(new DescribeSecurityGroupsCommand({ Filters: stackTagFilters(settings) }));
      if (SecurityGroups.length === 0) log('No security group of this stack is left');
      for (const group of SecurityGroups) {
        await retryWithBackoff(
          () => aws.ec2.send(new DeleteSecurityGroupCommand({ GroupId: group.GroupId })),
          {
            isRetryable: (error) => isAwsError(error, 'DependencyViolation'),
            describeWait: (delayMs) => `${group.GroupId} is still in use by a network interface; retrying in ${seconds(delayMs)}`,
            firstDelayMs: 5_000,
            maxDelayMs: 20_000,
            budgetMs: 180_000,
          },
          deps,
        );
        log(`Deleted security group ${group.GroupId}`);
      }
    },
  };
}
