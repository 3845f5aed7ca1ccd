// The Application Load Balancer of `--instances N`: created tagged across the default subnets, converged on rerun, deleted by down with the DNS record and target group.
import {
  CreateLoadBalancerCommand,
  DeleteLoadBalancerCommand,
  SetSecurityGroupsCommand,
  SetSubnetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { AwsDeps } from '../aws-clients.js';
import { assertStackOwns, stackNames, stackTags, tagsCli, type LoadBalancedSettings, type StackSettings } from '../stack.js';
import type { StackState } from '../state.js';
import { required, seconds, waitFor, type Step } from '../step.js';
import { siteDomain } from './certificate.js';
import { deleteDnsRecord, DNS_NAME_TAG_KEY, DNS_ZONE_TAG_KEY } from './dns-record.js';
import { findLoadBalancer, ownedLoadBalancer, tagsOf } from './load-balancer-lookups.js';
import { deleteTargetGroup } from './target-group.js';

export const LOAD_BALANCER_DELETION_TIMEOUT_MS = 5 * 60_000;

/** The same items in any order (subnets, security groups), as AWS lists them in its own order. */
export function sameMembers(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return (a ?? []).length === b.length && b.every((item) => a?.includes(item));
}

export function loadBalancerUpStep(settings: StackSettings): Step<AwsDeps, StackState> {
  const { region } = settings;
  const names = stackNames(settings.stack);
  return {
    title: `Create the internet-facing Application Load Balancer ${names.loadBalancerName} across the default subnets`,
    why: `One public entry for every instance, in at least two availability zones, guarded by ${names.loadBalancerSecurityGroupName}. A rerun puts back its subnets and security group if they were changed.`,
    cli: [
      `aws elbv2 describe-load-balancers --region ${region} --names ${names.loadBalancerName}   # LoadBalancerNotFound: create it`,
      `LB_ARN=$(aws elbv2 create-load-balancer --region ${region} --name ${names.loadBalancerName} --type application --scheme internet-facing --ip-address-type ipv4 --subnets $SUBNET_IDS --security-groups "$LB_SG_ID" --tags ${tagsCli(settings)} --query 'LoadBalancers[0].LoadBalancerArn' --output text)`,
    ],
    run: async (deps, state) => {
      const { aws, log } = deps;
      const subnetIds = required(state.subnetIds, 'the subnet ids');
      const groupId = required(state.loadBalancerSecurityGroupId, 'the load balancer security group id');
      let loadBalancer = await findLoadBalancer(deps, names.loadBalancerName);
      if (loadBalancer) {
        const arn = required(loadBalancer.LoadBalancerArn, 'the load balancer ARN');
        assertStackOwns(await tagsOf(deps, arn), settings, `Load balancer ${names.loadBalancerName}`);
        log(`Reusing load balancer ${loadBalancer.DNSName}`);
        if (!sameMembers(loadBalancer.SecurityGroups, [groupId])) {
          await aws.elbv2.send(new SetSecurityGroupsCommand({ LoadBalancerArn: arn, SecurityGroups: [groupId] }));
          log(`Security groups of ${names.loadBalancerName} set back to ${groupId}`);
        }
        const currentSubnets = (loadBalancer.AvailabilityZones ?? []).map((zone) => zone.SubnetId ?? '');
        if (!sameMembers(currentSubnets, subnetIds)) {
          await aws.elbv2.send(new SetSubnetsCommand({ LoadBalancerArn: arn, Subnets: subnetIds }));
          log(`Subnets of ${names.loadBalancerName} set to ${subnetIds.join(', ')}`);
        }
      } else {
        const created = await aws.elbv2.send(
          new CreateLoadBalancerCommand({
            Name: names.loadBalancerName,
            Type: 'application',
            Scheme: 'internet-facing',
            IpAddressType: 'ipv4',
            Subnets: subnetIds,
            SecurityGroups: [groupId],
            Tags: stackTags(settings),
          }),
        );
        loadBalancer = created.LoadBalancers?.[0];
        log(`Created load balancer ${loadBalancer?.DNSName}`);
      }
      state.loadBalancer = {
        arn: required(loadBalancer?.LoadBalancerArn, 'the load balancer ARN'),
        dnsName: required(loadBalancer?.DNSName, 'the load balancer DNS name'),
        zoneId: required(loadBalancer?.CanonicalHostedZoneId, 'the load balancer hosted zone'),
      };
    },
  };
}

/** Deletes the load balancer (its listeners go with it) and waits until it is gone, so the target group is free. */
export async function deleteLoadBalancer(deps: AwsDeps, settings: StackSettings): Promise<void> {
  const owned = await ownedLoadBalancer(deps, settings);
  if (!owned) return;
  const name = stackNames(settings.stack).loadBalancerName;
  await deps.aws.elbv2.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: owned.loadBalancer.LoadBalancerArn }));
  deps.log(`Deleting load balancer ${name}; waiting until it is gone`);
  const gone = await waitFor(
    async () => ((await findLoadBalancer(deps, name)) ? undefined : true),
    { intervalMs: 5_000, timeoutMs: LOAD_BALANCER_DELETION_TIMEOUT_MS },
    deps,
  );
  if (!gone)
    throw new Error(
      `Load balancer ${name} was still there after ${seconds(LOAD_BALANCER_DELETION_TIMEOUT_MS)}. Run the same command again.`,
    );
}

export function loadBalancerDownSteps(settings: StackSettings): Step<AwsDeps, StackState>[] {
  const { region } = settings;
  const names = stackNames(settings.stack);
  return [
    {
      title: `Delete the DNS alias record up created for ${names.loadBalancerName}, if any`,
      why: `Only the record named by the load balancer's ${DNS_ZONE_TAG_KEY} and ${DNS_NAME_TAG_KEY} tags, and only while it still points at this load balancer; any other record stays.`,
      cli: [
        `aws elbv2 describe-tags --region ${region} --resource-arns "$LB_ARN"   # ${DNS_ZONE_TAG_KEY}, ${DNS_NAME_TAG_KEY}`,
        `aws route53 change-resource-record-sets --hosted-zone-id <${DNS_ZONE_TAG_KEY}> --change-batch file://delete-alias.json   # the A record as list-resource-record-sets shows it, with Action DELETE`,
      ],
      run: (deps) => deleteDnsRecord(deps, settings),
    },
    {
      title: `Delete the load balancer ${names.loadBalancerName} with its listeners, and wait until it is gone`,
      why: 'Only when it carries the stack tags. The target group cannot be deleted while a listener forwards to it.',
      cli: [
        `LB_ARN=$(aws elbv2 describe-load-balancers --region ${region} --names ${names.loadBalancerName} --query 'LoadBalancers[0].LoadBalancerArn' --output text)`,
        `aws elbv2 describe-tags --region ${region} --resource-arns "$LB_ARN"   # must carry the stack tags`,
        `aws elbv2 delete-load-balancer --region ${region} --load-balancer-arn "$LB_ARN"`,
        `aws elbv2 wait load-balancers-deleted --region ${region} --load-balancer-arns "$LB_ARN"`,
      ],
      run: (deps) => deleteLoadBalancer(deps, settings),
    },
    {
      title: `Delete the target group ${names.targetGroupName}`,
      why: 'Only when it carries the stack tags; ResourceInUse is retried for a while, as the deleted load balancer releases it.',
      cli: [
        `TG_ARN=$(aws elbv2 describe-target-groups --region ${region} --names ${names.targetGroupName} --query 'TargetGroups[0].TargetGroupArn' --output text)`,
        `aws elbv2 delete-target-group --region ${region} --target-group-arn "$TG_ARN"`,
      ],
      run: (deps) => deleteTargetGroup(deps, settings),
    },
  ];
}

export function loadBalancedUrl(state: StackState, lb: LoadBalancedSettings): string {
  if (lb.certificateArn) return `https://${siteDomain(required(state.certificateDomains, 'the certificate domains'), lb.certificateArn)}/`;
  return `http://${required(state.loadBalancer, 'the load balancer').dnsName}/`;
}
