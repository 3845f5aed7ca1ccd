// The default VPC's default subnets, one per availability zone: a load balancer needs at least two zones.
import { DescribeSubnetsCommand } from '@aws-sdk/client-ec2';
import type { AwsDeps } from '../aws-clients.js';
import type { StackSettings } from '../stack.js';
import type { StackState } from '../state.js';
import { required, type Step } from '../step.js';
import { defaultVpcId } from './security-group.js';

export const MIN_AVAILABILITY_ZONES = 2;

export function defaultSubnetsStep(settings: StackSettings): Step<AwsDeps, StackState> {
  const { region } = settings;
  return {
    title: 'Find the default VPC and its default subnet in each availability zone',
    why: `An Application Load Balancer needs subnets in at least ${MIN_AVAILABILITY_ZONES} availability zones, and the Auto Scaling group spreads the instances over the same zones, so losing one zone leaves the others serving. The default subnets give their instances public addresses, which boot needs to reach the package mirrors and the npm registry (no NAT gateway to pay for).`,
    cli: [
      `VPC_ID=$(aws ec2 describe-vpcs --region ${region} --filters Name=is-default,Values=true --query 'Vpcs[0].VpcId' --output text)`,
      `SUBNET_IDS=$(aws ec2 describe-subnets --region ${region} --filters Name=vpc-id,Values="$VPC_ID" Name=default-for-az,Values=true --query 'Subnets[].SubnetId' --output text)`,
    ],
    run: async (deps, state) => {
      const vpcId = await defaultVpcId(deps, region);
      const { Subnets = [] } = await deps.aws.ec2.send(
        new DescribeSubnetsCommand({
          Filters: [
            { Name: 'vpc-id', Values: [vpcId] },
            { Name: 'default-for-az', Values: ['true'] },
          ],
        }),
      );
      // AWS keeps one default subnet per availability zone; sorted by zone so the plan, the log and the group read the same each run.
      const subnets = [...Subnets].sort((a, b) => String(a.AvailabilityZone).localeCompare(String(b.AvailabilityZone)));
      const zones = subnets.map((subnet) => subnet.AvailabilityZone);
      if (subnets.length < MIN_AVAILABILITY_ZONES) {
        throw new Error(
          `The default VPC ${vpcId} of ${region} has default subnets in ${subnets.length} availability zone(s) (${zones.join(', ') || 'none'}); a load balancer needs ${MIN_AVAILABILITY_ZONES}. ` +
            `Create the missing ones with \`aws ec2 create-default-subnet --region ${region} --availability-zone <zone>\` (\`aws ec2 describe-availability-zones --region ${region}\` lists the zones), or use another region.`,
        );
      }
      state.vpcId = vpcId;
      state.subnetIds = subnets.map((subnet) => required(subnet.SubnetId, 'the subnet id'));
      deps.log(`Default VPC ${vpcId}: subnets ${subnets.map((subnet) => `${subnet.SubnetId} (${subnet.AvailabilityZone})`).join(', ')}`);
    },
  };
}
