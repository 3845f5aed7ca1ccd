// Reads of Elastic Load Balancing the load balancer's parts share: a resource's tags, the stack's load balancer and target group by name.
import {
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  type LoadBalancer,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { unlessMissing, type AwsDeps } from '../aws-clients.js';
import { ownershipOf, stackNames, type StackSettings, type Tag } from '../stack.js';
import { required } from '../step.js';

export async function tagsOf({ aws }: AwsDeps, arn: string): Promise<Tag[]> {
  const { TagDescriptions = [] } = await aws.elbv2.send(new DescribeTagsCommand({ ResourceArns: [arn] }));
  return (TagDescriptions[0]?.Tags ?? []).map((tag) => ({ Key: tag.Key ?? '', Value: tag.Value ?? '' }));
}

export async function findTargetGroup({ aws }: AwsDeps, name: string): Promise<TargetGroup | undefined> {
  const found = await unlessMissing(aws.elbv2.send(new DescribeTargetGroupsCommand({ Names: [name] })), 'TargetGroupNotFoundException');
  return found?.TargetGroups?.[0];
}

export async function findLoadBalancer({ aws }: AwsDeps, name: string): Promise<LoadBalancer | undefined> {
  const found = await unlessMissing(aws.elbv2.send(new DescribeLoadBalancersCommand({ Names: [name] })), 'LoadBalancerNotFoundException');
  return found?.LoadBalancers?.[0];
}

/** The stack's load balancer, or undefined when there is none or the one of that name is someone else's (left alone). */
export async function ownedLoadBalancer(
  deps: AwsDeps,
  settings: StackSettings,
): Promise<{ loadBalancer: LoadBalancer; tags: Tag[] } | undefined> {
  const name = stackNames(settings.stack).loadBalancerName;
  const loadBalancer = await findLoadBalancer(deps, name);
  if (!loadBalancer) {
    deps.log(`No load balancer ${name}`);
    return undefined;
  }
  const tags = await tagsOf(deps, required(loadBalancer.LoadBalancerArn, 'the load balancer ARN'));
  if (ownershipOf(tags, settings).owner !== 'this-stack') {
    deps.log(`Load balancer ${name} is not tagged as this stack's: left as it is`);
    return undefined;
  }
  return { loadBalancer, tags };
}
