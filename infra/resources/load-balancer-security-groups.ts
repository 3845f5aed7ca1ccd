// The security groups of `--instances N`: the load balancer's, open to --allow-cidr, and the instances', open to the load balancer only.
import type { AwsDeps } from '../aws-clients.js';
import { APP_PORT, stackNames, type LoadBalancedSettings, type UpSettings } from '../stack.js';
import type { StackState } from '../state.js';
import { required, type Step } from '../step.js';
import { createGroupCli, ensureSecurityGroup } from './security-group.js';
import { HTTP_PORT, HTTPS_PORT } from './listeners.js';

export function loadBalancerSecurityGroupsStep(settings: UpSettings, lb: LoadBalancedSettings): Step<AwsDeps, StackState> {
  const { region, allowCidr } = settings;
  const names = stackNames(settings.stack);
  const ports = lb.certificateArn ? [HTTP_PORT, HTTPS_PORT] : [HTTP_PORT];
  return {
    title: `Create the security groups ${names.loadBalancerSecurityGroupName} (TCP ${ports.join(' and ')} from ${allowCidr} only) and ${names.appSecurityGroupName} (TCP ${APP_PORT} from the load balancer only)`,
    why: `Only the load balancer is reachable from your network. The instances' group has no address range in it at all: it admits the app port from members of ${names.loadBalancerSecurityGroupName} only, so no instance can be reached around the load balancer. Any other inbound rule is revoked.`,
    cli: [
      createGroupCli(settings, names.loadBalancerSecurityGroupName, 'LB_SG_ID'),
      ...ports.map(
        (port) =>
          `aws ec2 authorize-security-group-ingress --region ${region} --group-id "$LB_SG_ID" --protocol tcp --port ${port} --cidr ${allowCidr}`,
      ),
      createGroupCli(settings, names.appSecurityGroupName, 'APP_SG_ID'),
      `aws ec2 authorize-security-group-ingress --region ${region} --group-id "$APP_SG_ID" --protocol tcp --port ${APP_PORT} --source-group "$LB_SG_ID"`,
    ],
    run: async (deps, state) => {
      const vpcId = required(state.vpcId, 'the VPC id');
      const lbGroupId = await ensureSecurityGroup(
        deps,
        settings,
        vpcId,
        names.loadBalancerSecurityGroupName,
        ports.map((port) => ({ port, cidr: allowCidr, description: `S3 Photo Share ${port === HTTPS_PORT ? 'HTTPS' : 'HTTP'}` })),
      );
      state.loadBalancerSecurityGroupId = lbGroupId;
      state.appSecurityGroupId = await ensureSecurityGroup(deps, settings, vpcId, names.appSecurityGroupName, [
        { port: APP_PORT, sourceGroupId: lbGroupId, description: 'S3 Photo Share from its load balancer' },
      ]);
    },
  };
}
