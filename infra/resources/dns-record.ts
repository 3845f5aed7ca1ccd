// The DNS name of `--instances N` with a certificate: an alias A record up creates in Route 53 (recorded in tags, so down deletes only that one), or the CNAME it prints.
import { AddTagsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  ChangeResourceRecordSetsCommand,
  GetHostedZoneCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import { unlessMissing, type AwsDeps } from '../aws-clients.js';
import { stackNames, type LoadBalancedSettings, type StackSettings } from '../stack.js';
import type { StackState } from '../state.js';
import { required, type Step } from '../step.js';
import { siteDomain } from './certificate.js';
import { ownedLoadBalancer, tagsOf } from './load-balancer-lookups.js';

/** Tags on the load balancer that record the alias record up created, so down deletes that record and no other. */
export const DNS_ZONE_TAG_KEY = 'dns-zone';
export const DNS_NAME_TAG_KEY = 'dns-name';

function recordName(name: string): string {
  return name.replace(/\.$/, '').toLowerCase();
}

/** Route 53 returns alias targets lower-case with a trailing dot, and the load balancer's name as `dualstack.<dns name>`. */
function aliasPointsAt(record: ResourceRecordSet | undefined, dnsName: string): boolean {
  const target = record?.AliasTarget?.DNSName;
  return target !== undefined && recordName(target).replace(/^dualstack\./, '') === recordName(dnsName);
}

async function findARecord({ aws }: AwsDeps, zoneId: string, name: string): Promise<ResourceRecordSet | undefined> {
  const { ResourceRecordSets = [] } = await aws.route53.send(
    new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: name, StartRecordType: 'A', MaxItems: 1 }),
  );
  return ResourceRecordSets.find((record) => recordName(record.Name ?? '') === recordName(name) && record.Type === 'A');
}

export function dnsRecordUpStep(settings: StackSettings, lb: LoadBalancedSettings & { certificateArn: string }): Step<AwsDeps, StackState> {
  const names = stackNames(settings.stack);
  const zoneId = lb.hostedZoneId;
  return {
    title: zoneId
      ? `Point the certificate's domain at the load balancer: an alias A record in the hosted zone ${zoneId}`
      : "Print the DNS record the certificate's domain needs (no --hosted-zone-id)",
    why: zoneId
      ? `The certificate is only valid for its own names, so browsers must reach the load balancer by one of them. An alias record costs nothing per query and follows the load balancer's changing addresses. Its zone and name are recorded as tags (${DNS_ZONE_TAG_KEY}, ${DNS_NAME_TAG_KEY}) on the load balancer, so down deletes that record and only while it still points at this load balancer; a record of that name pointing elsewhere is refused.`
      : 'The certificate is only valid for its own names, so browsers must reach the load balancer by one of them. Create the printed CNAME record at your DNS provider (or pass --hosted-zone-id for a Route 53 zone and up creates an alias record).',
    cli: zoneId
      ? [
          `aws route53 get-hosted-zone --id ${zoneId} --query HostedZone.Name`,
          `aws route53 change-resource-record-sets --hosted-zone-id ${zoneId} --change-batch file://alias.json`,
          `aws elbv2 add-tags --region ${settings.region} --resource-arns "$LB_ARN" --tags Key=${DNS_ZONE_TAG_KEY},Value=${zoneId} Key=${DNS_NAME_TAG_KEY},Value=<domain>`,
        ]
      : [
          `aws elbv2 describe-load-balancers --region ${settings.region} --names ${names.loadBalancerName} --query 'LoadBalancers[0].DNSName' --output text   # then at your DNS provider: <domain> CNAME <that name>`,
        ],
    documents: zoneId
      ? {
          'alias.json': {
            Changes: [
              {
                Action: 'UPSERT',
                ResourceRecordSet: {
                  Name: '<the first non-wildcard name of the certificate>',
                  Type: 'A',
                  AliasTarget: {
                    HostedZoneId: '<the load balancer CanonicalHostedZoneId>',
                    DNSName: 'dualstack.<the load balancer DNSName>',
                    EvaluateTargetHealth: true,
                  },
                },
              },
            ],
          },
        }
      : undefined,
    run: async (deps, state) => {
      const { aws, log } = deps;
      const domain = siteDomain(required(state.certificateDomains, 'the certificate domains'), lb.certificateArn);
      const { arn: loadBalancerArn, dnsName, zoneId: loadBalancerZoneId } = required(state.loadBalancer, 'the load balancer');
      if (!zoneId) {
        state.dnsRecordToCreate = `${domain}. CNAME ${dnsName}.`;
        log(`Create this DNS record at your DNS provider: ${state.dnsRecordToCreate}`);
        return;
      }
      const found = await unlessMissing(aws.route53.send(new GetHostedZoneCommand({ Id: zoneId })), 'NoSuchHostedZone');
      const zoneName = recordName(found?.HostedZone?.Name ?? '');
      if (!found?.HostedZone)
        throw new Error(`Hosted zone ${zoneId} does not exist. Check --hosted-zone-id (\`aws route53 list-hosted-zones\`).`);
      if (recordName(domain) !== zoneName && !recordName(domain).endsWith(`.${zoneName}`))
        throw new Error(
          `The certificate's name ${domain} is not inside the hosted zone ${zoneId} (${zoneName}). Pass the zone that holds ${domain}.`,
        );
      const existing = await findARecord(deps, zoneId, domain);
      if (existing && !aliasPointsAt(existing, dnsName)) {
        throw new Error(
          `Hosted zone ${zoneId} already has an A record ${domain} that does not point at ${names.loadBalancerName}: up leaves it as it is. Delete or rename it yourself, or leave out --hosted-zone-id and create the record you want.`,
        );
      }
      if (existing) {
        log(`${domain} already points at ${dnsName}`);
      } else {
        await aws.route53.send(
          new ChangeResourceRecordSetsCommand({
            HostedZoneId: zoneId,
            ChangeBatch: {
              Comment: `S3 Photo Share ${settings.stack}`,
              Changes: [
                {
                  Action: 'UPSERT',
                  ResourceRecordSet: {
                    Name: domain,
                    Type: 'A',
                    AliasTarget: {
                      HostedZoneId: loadBalancerZoneId,
                      DNSName: `dualstack.${dnsName}`,
                      EvaluateTargetHealth: true,
                    },
                  },
                },
              ],
            },
          }),
        );
        log(`Created the alias record ${domain} → ${dnsName}`);
      }
      const tags = await tagsOf(deps, loadBalancerArn);
      const recorded = (key: string) => tags.find((tag) => tag.Key === key)?.Value;
      if (recorded(DNS_ZONE_TAG_KEY) !== zoneId || recorded(DNS_NAME_TAG_KEY) !== domain) {
        await aws.elbv2.send(
          new AddTagsCommand({
            ResourceArns: [loadBalancerArn],
            Tags: [
              { Key: DNS_ZONE_TAG_KEY, Value: zoneId },
              { Key: DNS_NAME_TAG_KEY, Value: domain },
            ],
          }),
        );
      }
    },
  };
}

/** Deletes the alias record up created, if it still points at this stack's load balancer. */
export async function deleteDnsRecord(deps: AwsDeps, settings: StackSettings): Promise<void> {
  const owned = await ownedLoadBalancer(deps, settings);
  if (!owned) return;
  const zoneId = owned.tags.find((tag) => tag.Key === DNS_ZONE_TAG_KEY)?.Value;
  const name = owned.tags.find((tag) => tag.Key === DNS_NAME_TAG_KEY)?.Value;
  if (!zoneId || !name) {
    deps.log('The load balancer has no DNS record created by up');
    return;
  }
  const record = await findARecord(deps, zoneId, name);
  if (!record || !aliasPointsAt(record, owned.loadBalancer.DNSName ?? '')) {
    deps.log(`No A record ${name} pointing at the load balancer in ${zoneId}: nothing to delete`);
    return;
  }
  await deps.aws.route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      ChangeBatch: { Changes: [{ Action: 'DELETE', ResourceRecordSet: record }] },
    }),
  );
  deps.log(`Deleted the alias record ${name} in ${zoneId}`);
}
