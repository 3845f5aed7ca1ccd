// The steps of `down`: removes what `up` created, found by the stack tags, in dependency order; the bucket stays unless asked.
import { DeleteSecurityGroupCommand, DescribeInstancesCommand, DescribeSecurityGroupsCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import {
  DeleteInstanceProfileCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  RemoveRoleFromInstanceProfileCommand,
} from '@aws-sdk/client-iam';
import {
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetBucketTaggingCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  type ObjectIdentifier,
} from '@aws-sdk/client-s3';
import { identityStep, type AwsDeps } from './attach.js';
import { isAwsError } from './aws-clients.js';
import { assertStackOwns, stackNames, stackTagFilters, type BucketSettings } from './stack.js';
import { retryWithBackoff, seconds, waitFor, type Step } from './step.js';

export interface DownSettings extends BucketSettings {
  deleteBucket: boolean;
}

type DownState = Record<string, never>;

export const TERMINATION_TIMEOUT_MS = 5 * 60_000;
const NOT_TERMINATED_STATES = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'];

export function downSteps(settings: DownSettings): Step<AwsDeps, DownState>[] {
  const { bucket, region, stack } = settings;
  const names = stackNames(stack);
  const tagFiltersCli = stackTagFilters(stack)
    .map((filter) => `Name=${filter.Name},Values=${filter.Values.join(',')}`)
    .join(' ');

  const steps: Step<AwsDeps, DownState>[] = [
    identityStep(),
    {
      title: 'Terminate the stack instances and wait until they are gone',
      why: 'The security group cannot be deleted while an instance network interface still uses it.',
      cli: [
        `INSTANCE_IDS=$(aws ec2 describe-instances --region ${region} --filters ${tagFiltersCli} Name=instance-state-name,Values=${NOT_TERMINATED_STATES.join(',')} --query 'Reservations[].Instances[].InstanceId' --output text)`,
        `aws ec2 terminate-instances --region ${region} --instance-ids $INSTANCE_IDS`,
        `aws ec2 wait instance-terminated --region ${region} --instance-ids $INSTANCE_IDS`,
      ],
      run: async (deps) => {
        const { aws, log } = deps;
        const listLive = async () => {
          const { Reservations = [] } = await aws.ec2.send(
            new DescribeInstancesCommand({ Filters: [...stackTagFilters(stack), { Name: 'instance-state-name', Values: NOT_TERMINATED_STATES }] }),
          );
          return Reservations.flatMap((reservation) => reservation.Instances ?? []).map((instance) => instance.InstanceId ?? '');
        };
        const instanceIds = await listLive();
        if (instanceIds.length === 0) {
          log('No instance of this stack is left');
          return;
        }
        await aws.ec2.send(new TerminateInstancesCommand({ InstanceIds: instanceIds }));
        log(`Terminating ${instanceIds.join(', ')}; waiting until terminated`);
        const gone = await waitFor(async () => ((await listLive()).length === 0 ? true : undefined), { intervalMs: 5_000, timeoutMs: TERMINATION_TIMEOUT_MS }, deps);
        if (!gone) throw new Error(`Instances ${instanceIds.join(', ')} were not terminated after ${seconds(TERMINATION_TIMEOUT_MS)}. Run \`npm run infra:down\` again.`);
        log('Instances terminated');
      },
    },
    {
      title: `Delete the security group ${names.securityGroupName}`,
      why: 'Its network interfaces are released a little after termination, so a DependencyViolation is retried for a while.',
      cli: [
        `SG_ID=$(aws ec2 describe-security-groups --region ${region} --filters ${tagFiltersCli} --query 'SecurityGroups[0].GroupId' --output text)`,
        `aws ec2 delete-security-group --region ${region} --group-id "$SG_ID"`,
      ],
      run: async (deps) => {
        const { aws, log } = deps;
        const { SecurityGroups = [] } = await aws.ec2.send(new DescribeSecurityGroupsCommand({ Filters: stackTagFilters(stack) }));
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
    },
    {
      title: `Remove the role from the instance profile ${names.instanceProfileName}, then delete the profile`,
      why: 'IAM refuses to delete a profile that still holds a role, and a role that is still in a profile.',
      cli: [
        `aws iam remove-role-from-instance-profile --instance-profile-name ${names.instanceProfileName} --role-name ${names.roleName}`,
        `aws iam delete-instance-profile --instance-profile-name ${names.instanceProfileName}`,
      ],
      run: async ({ aws, log }) => {
        const profile = await ignoreNoSuchEntity(aws.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: names.instanceProfileName })));
        if (!profile?.InstanceProfile) {
          log(`Instance profile ${names.instanceProfileName} is already gone`);
          return;
        }
        assertStackOwns(profile.InstanceProfile.Tags, stack, `Instance profile ${names.instanceProfileName}`);
        for (const role of profile.InstanceProfile.Roles ?? []) {
          await aws.iam.send(new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName: names.instanceProfileName, RoleName: role.RoleName }));
          log(`Removed ${role.RoleName} from ${names.instanceProfileName}`);
        }
        await aws.iam.send(new DeleteInstanceProfileCommand({ InstanceProfileName: names.instanceProfileName }));
        log(`Deleted instance profile ${names.instanceProfileName}`);
      },
    },
    {
      title: `Delete the role ${names.roleName} and its policies`,
      why: 'IAM refuses to delete a role that still has inline or attached policies. Attached managed policies are only detached, never deleted.',
      cli: [
        `aws iam delete-role-policy --role-name ${names.roleName} --policy-name ${names.rolePolicyName}`,
        `aws iam list-attached-role-policies --role-name ${names.roleName}   # detach any with: aws iam detach-role-policy --role-name ${names.roleName} --policy-arn <arn>`,
        `aws iam delete-role --role-name ${names.roleName}`,
      ],
      run: async ({ aws, log }) => {
        const role = await ignoreNoSuchEntity(aws.iam.send(new GetRoleCommand({ RoleName: names.roleName })));
        if (!role?.Role) {
          log(`Role ${names.roleName} is already gone`);
          return;
        }
        assertStackOwns(role.Role.Tags, stack, `Role ${names.roleName}`);
        const { PolicyNames = [] } = await aws.iam.send(new ListRolePoliciesCommand({ RoleName: names.roleName }));
        for (const policyName of PolicyNames) {
          await aws.iam.send(new DeleteRolePolicyCommand({ RoleName: names.roleName, PolicyName: policyName }));
          log(`Deleted inline policy ${policyName}`);
        }
        const { AttachedPolicies = [] } = await aws.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: names.roleName }));
        for (const policy of AttachedPolicies) {
          await aws.iam.send(new DetachRolePolicyCommand({ RoleName: names.roleName, PolicyArn: policy.PolicyArn }));
          log(`Detached ${policy.PolicyArn}`);
        }
        await aws.iam.send(new DeleteRoleCommand({ RoleName: names.roleName }));
        log(`Deleted role ${names.roleName}`);
      },
    },
  ];

  if (settings.deleteBucket) {
    steps.push({
      title: `Empty and delete the bucket ${bucket} (--delete-bucket)`,
      why: 'S3 only deletes an empty bucket. Every object version goes, photos included; the bucket must carry this stack’s tags.',
      cli: [
        `aws s3api get-bucket-tagging --bucket ${bucket}`,
        `aws s3 rm s3://${bucket} --recursive`,
        `aws s3api delete-bucket --bucket ${bucket} --region ${region}`,
      ],
      run: async ({ aws, log }) => {
        let bucketTags;
        try {
          ({ TagSet: bucketTags } = await aws.s3.send(new GetBucketTaggingCommand({ Bucket: bucket })));
        } catch (error) {
          if (isAwsError(error, 'NoSuchBucket')) {
            log(`Bucket ${bucket} is already gone`);
            return;
          }
          if (!isAwsError(error, 'NoSuchTagSet')) throw error;
        }
        assertStackOwns(bucketTags, stack, `Bucket ${bucket}`);
        let removed = 0;
        for (;;) {
          const page = await aws.s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
          const objects: ObjectIdentifier[] = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((entry) => ({ Key: entry.Key, VersionId: entry.VersionId }));
          if (objects.length === 0) break;
          await deleteObjects(aws, bucket, objects);
          removed += objects.length;
        }
        log(`Removed ${removed} object version(s)`);
        await aws.s3.send(new DeleteBucketCommand({ Bucket: bucket }));
        log(`Deleted bucket ${bucket}`);
      },
    });
  } else {
    steps.push({
      title: `Delete this stack's release artifacts under s3://${bucket}/${names.releasePrefix}; keep the bucket and its photos`,
      why: 'Up uploaded these; the photos are yours. Pass --delete-bucket to remove the bucket as well.',
      cli: [`aws s3 rm s3://${bucket}/${names.releasePrefix} --recursive`],
      run: async ({ aws, log }) => {
        let removed = 0;
        for (;;) {
          const page = await ignoreMissingBucket(aws.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: names.releasePrefix })));
          const objects: ObjectIdentifier[] = page === 'no-bucket' ? [] : (page.Contents ?? []).map((object) => ({ Key: object.Key }));
          if (objects.length === 0) break;
          await deleteObjects(aws, bucket, objects);
          removed += objects.length;
        }
        log(`Removed ${removed} release object(s); s3://${bucket} and its photos are kept`);
      },
    });
  }
  return steps;
}

export function newDownState(): DownState {
  return {};
}

async function deleteObjects({ s3 }: AwsDeps['aws'], bucket: string, objects: ObjectIdentifier[]): Promise<void> {
  const { Errors = [] } = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }));
  if (Errors.length > 0) throw new Error(`Could not delete ${Errors.length} object(s) from ${bucket}, first: ${Errors[0]?.Key} (${Errors[0]?.Code})`);
}

async function ignoreNoSuchEntity<T>(request: Promise<T>): Promise<T | undefined> {
  try {
    return await request;
  } catch (error) {
    if (isAwsError(error, 'NoSuchEntityException')) return undefined;
    throw error;
  }
}

async function ignoreMissingBucket<T>(request: Promise<T>): Promise<T | 'no-bucket'> {
  try {
    return await request;
  } catch (error) {
    if (isAwsError(error, 'NoSuchBucket')) return 'no-bucket';
    throw error;
  }
}
