// The steps of `up`: bucket, release, role, instance profile, security group and instance, each with its CLI twin for the plan.
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcsCommand,
  RevokeSecurityGroupIngressCommand,
  RunInstancesCommand,
  type Instance,
  type IpPermission,
} from '@aws-sdk/client-ec2';
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import {
  CreateBucketCommand,
  GetBucketTaggingCommand,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  type BucketLocationConstraint,
} from '@aws-sdk/client-s3';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { ensureInstanceUsesProfile, identityStep, type AwsDeps } from './attach.js';
import { isAwsError } from './aws-clients.js';
import { RELEASE_LOCKFILE, RELEASE_TARBALL, releaseObjectPrefix, type ReleaseArtifact } from './release.js';
import { amiParameterName, APP_PORT, assertStackOwns, stackNames, stackTagFilters, stackTags, type UpSettings } from './stack.js';
import { required, retryWithBackoff, seconds, waitFor, type Step } from './step.js';
import { renderPolicy, renderUserData } from './templates.js';

export interface UpDeps extends AwsDeps {
  buildRelease: () => Promise<ReleaseArtifact>;
  /** One GET of the app's /readyz; true only for a 200. */
  isReady: (url: string) => Promise<boolean>;
}

export interface UpState {
  releaseId?: string;
  roleArn?: string;
  instanceProfileArn?: string;
  securityGroupId?: string;
  amiId?: string;
  instanceId?: string;
  appUrl?: string;
}

export const PROFILE_PROPAGATION_BUDGET_MS = 120_000;
export const INSTANCE_RUNNING_TIMEOUT_MS = 5 * 60_000;
// First boot installs Node and runs `npm ci` (sharp's native binaries) before the app starts.
export const READINESS_TIMEOUT_MS = 10 * 60_000;
const ACTIVE_INSTANCE_STATES = ['pending', 'running', 'stopping', 'stopped'];

/** Policy documents rendered for this stack; the plan prints the same objects that up sends. */
export function stackPolicies(settings: UpSettings) {
  const values = { Bucket: settings.bucket, Prefix: settings.keyPrefix, ReleasePrefix: stackNames(settings.stack).releasePrefix };
  return {
    app: renderPolicy('app-policy', values),
    trust: renderPolicy('trust-policy', values),
    bucket: renderPolicy('bucket-policy', values),
  };
}

/** RunInstances fails this way while IAM has not yet propagated a new instance profile to EC2; only time fixes it. */
export function isProfilePropagationError(error: unknown): boolean {
  return isAwsError(error, 'InvalidParameterValue') && /Invalid IAM Instance Profile/i.test(error.message);
}

export function upSteps(settings: UpSettings): Step<UpDeps, UpState>[] {
  const { bucket, region, stack } = settings;
  const names = stackNames(stack);
  const policies = stackPolicies(settings);
  const tags = stackTags(stack);
  const tagsCli = tags.map((tag) => `Key=${tag.Key},Value=${tag.Value}`).join(' ');
  const ec2TagsCli = `{Key=Name,Value=${stack}},${tags.map((tag) => `{Key=${tag.Key},Value=${tag.Value}}`).join(',')}`;
  // us-east-1 is the one region where CreateBucket must not name a location.
  const locationCli = region === 'us-east-1' ? '' : ` --create-bucket-configuration LocationConstraint=${region}`;

  return [
    identityStep(),
    {
      title: `Create the bucket ${bucket} in ${region}, or reuse it if you already own it`,
      why: 'Photos and the release live here. BucketOwnerEnforced turns ACLs off, so access is decided by policies alone.',
      cli: [`aws s3api create-bucket --bucket ${bucket} --region ${region}${locationCli} --object-ownership BucketOwnerEnforced`],
      run: async ({ aws, log }) => {
        try {
          await aws.s3.send(
            new CreateBucketCommand({
              Bucket: bucket,
              ObjectOwnership: 'BucketOwnerEnforced',
              CreateBucketConfiguration: region === 'us-east-1' ? undefined : { LocationConstraint: region as BucketLocationConstraint },
            }),
          );
          log(`Created s3://${bucket}`);
        } catch (error) {
          if (isAwsError(error, 'BucketAlreadyExists')) {
            throw new Error(`Bucket name ${bucket} belongs to another AWS account (bucket names are global). Choose another --bucket.`);
          }
          if (!isAwsError(error, 'BucketAlreadyOwnedByYou')) throw error;
          log(`Reusing s3://${bucket}, which you already own; its settings are brought in line below`);
        }
      },
    },
    {
      title: 'Make the bucket private: Block Public Access (all four), ACLs off, default encryption',
      why: 'No policy or ACL can make an object public, even by mistake; objects are encrypted at rest with S3-managed keys (SSE-S3).',
      cli: [
        `aws s3api put-public-access-block --bucket ${bucket} --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true`,
        `aws s3api put-bucket-ownership-controls --bucket ${bucket} --ownership-controls 'Rules=[{ObjectOwnership=BucketOwnerEnforced}]'`,
        `aws s3api put-bucket-encryption --bucket ${bucket} --server-side-encryption-configuration '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}'`,
      ],
      run: async ({ aws, log }) => {
        await aws.s3.send(
          new PutPublicAccessBlockCommand({
            Bucket: bucket,
            PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
          }),
        );
        await aws.s3.send(new PutBucketOwnershipControlsCommand({ Bucket: bucket, OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] } }));
        await aws.s3.send(
          new PutBucketEncryptionCommand({
            Bucket: bucket,
            ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
          }),
        );
        log('Block Public Access on, ACLs disabled, SSE-S3 default encryption on');
      },
    },
    {
      title: 'Deny every request that does not use TLS (bucket policy)',
      why: 'A Deny on aws:SecureTransport=false beats any Allow, so nothing reaches the bucket over plain HTTP.',
      cli: [`aws s3api put-bucket-policy --bucket ${bucket} --policy file://bucket-policy.json`],
      documents: { 'bucket-policy.json': policies.bucket },
      run: async ({ aws, log }) => {
        await aws.s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policies.bucket) }));
        log('Bucket policy set: requests without TLS are denied');
      },
    },
    {
      title: 'Abort incomplete multipart uploads after one day (lifecycle rule)',
      why: 'Parts of uploads that never completed are billed but invisible in listings; this rule removes them.',
      cli: [
        `aws s3api put-bucket-lifecycle-configuration --bucket ${bucket} --lifecycle-configuration '{"Rules":[{"ID":"abort-incomplete-multipart-uploads","Status":"Enabled","Filter":{},"AbortIncompleteMultipartUpload":{"DaysAfterInitiation":1}}]}'`,
      ],
      run: async ({ aws, log }) => {
        await aws.s3.send(
          new PutBucketLifecycleConfigurationCommand({
            Bucket: bucket,
            LifecycleConfiguration: {
              Rules: [{ ID: 'abort-incomplete-multipart-uploads', Status: 'Enabled', Filter: {}, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }],
            },
          }),
        );
        log('Lifecycle rule set: incomplete multipart uploads are aborted after 1 day');
      },
    },
    {
      title: 'Tag the bucket with the stack tags',
      why: '`down --delete-bucket` only deletes a bucket that carries these tags. Tags already on the bucket are kept.',
      cli: [`aws s3api put-bucket-tagging --bucket ${bucket} --tagging 'TagSet=[${tags.map((tag) => `{Key=${tag.Key},Value=${tag.Value}}`).join(',')}]'`],
      run: async ({ aws, log }) => {
        const existing = await getBucketTags(aws.s3, bucket);
        const kept = existing.filter((tag) => !tags.some((ours) => ours.Key === tag.Key));
        await aws.s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: [...kept, ...tags] } }));
        log(`Tagged s3://${bucket} with ${tags.map((tag) => `${tag.Key}=${tag.Value}`).join(', ')}`);
      },
    },
    {
      title: `Build the release and upload it to s3://${bucket}/${names.releasePrefix}<release-id>/`,
      why: 'The instance downloads it with its own role at boot, so no code and no credential travels in user-data. <release-id> is the version plus a content hash; package-lock.json goes beside the tarball because npm pack leaves it out and npm ci needs it.',
      cli: [
        'npm run build && npm pack --pack-destination /tmp',
        `aws s3 cp /tmp/s3-photo-share-<version>.tgz s3://${bucket}/${names.releasePrefix}<release-id>/${RELEASE_TARBALL}`,
        `aws s3 cp package-lock.json s3://${bucket}/${names.releasePrefix}<release-id>/${RELEASE_LOCKFILE}`,
      ],
      run: async ({ aws, log, buildRelease }, state) => {
        log('Running npm run build and npm pack');
        const release = await buildRelease();
        const prefix = releaseObjectPrefix(names.releasePrefix, release.id);
        await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}${RELEASE_TARBALL}`, Body: release.tarball, ContentType: 'application/gzip' }));
        await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}${RELEASE_LOCKFILE}`, Body: release.packageLock, ContentType: 'application/json' }));
        state.releaseId = release.id;
        log(`Uploaded release ${release.id} to s3://${bucket}/${prefix}`);
      },
    },
    {
      title: `Create the IAM role ${names.roleName}, assumable only by EC2`,
      why: 'The trust policy says who may assume the role; naming only ec2.amazonaws.com means no person, Lambda or other service can use it.',
      cli: [
        `aws iam create-role --role-name ${names.roleName} --assume-role-policy-document file://trust-policy.json --tags ${tagsCli}`,
        `aws iam update-assume-role-policy --role-name ${names.roleName} --policy-document file://trust-policy.json   # when the role already exists`,
      ],
      documents: { 'trust-policy.json': policies.trust },
      run: async ({ aws, log }, state) => {
        const trustPolicy = JSON.stringify(policies.trust);
        try {
          const { Role } = await aws.iam.send(new CreateRoleCommand({ RoleName: names.roleName, AssumeRolePolicyDocument: trustPolicy, Tags: tags }));
          state.roleArn = Role?.Arn;
          log(`Created role ${state.roleArn}`);
        } catch (error) {
          if (!isAwsError(error, 'EntityAlreadyExistsException')) throw error;
          const { Role } = await aws.iam.send(new GetRoleCommand({ RoleName: names.roleName }));
          assertStackOwns(Role?.Tags, stack, `Role ${names.roleName}`);
          await aws.iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: names.roleName, PolicyDocument: trustPolicy }));
          state.roleArn = Role?.Arn;
          log(`Reusing role ${state.roleArn}; trust policy updated`);
        }
      },
    },
    {
      title: `Give the role the app's S3 permissions (inline policy ${names.rolePolicyName})`,
      why: `List only with an s3:prefix under ${settings.keyPrefix}; read, write and delete only under ${bucket}/${settings.keyPrefix}*; read this stack's releases and nothing else. An inline policy lives and dies with the role, and put-role-policy overwrites it in place, so a rerun converges without managing policy versions.`,
      cli: [`aws iam put-role-policy --role-name ${names.roleName} --policy-name ${names.rolePolicyName} --policy-document file://app-policy.json`],
      documents: { 'app-policy.json': policies.app },
      run: async ({ aws, log }) => {
        await aws.iam.send(
          new PutRolePolicyCommand({ RoleName: names.roleName, PolicyName: names.rolePolicyName, PolicyDocument: JSON.stringify(policies.app) }),
        );
        log(`Policy ${names.rolePolicyName} set on ${names.roleName}`);
      },
    },
    {
      title: `Create the instance profile ${names.instanceProfileName} and add the role to it`,
      why: 'EC2 attaches an instance profile, not a role. The console creates one silently with the same name as the role; the CLI and SDK must create it and add the role themselves.',
      cli: [
        `aws iam create-instance-profile --instance-profile-name ${names.instanceProfileName} --tags ${tagsCli}`,
        `aws iam add-role-to-instance-profile --instance-profile-name ${names.instanceProfileName} --role-name ${names.roleName}`,
      ],
      run: async ({ aws, log }, state) => {
        let rolesInProfile: string[] = [];
        try {
          const { InstanceProfile } = await aws.iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: names.instanceProfileName, Tags: tags }));
          state.instanceProfileArn = InstanceProfile?.Arn;
          log(`Created instance profile ${state.instanceProfileArn}`);
        } catch (error) {
          if (!isAwsError(error, 'EntityAlreadyExistsException')) throw error;
          const { InstanceProfile } = await aws.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: names.instanceProfileName }));
          assertStackOwns(InstanceProfile?.Tags, stack, `Instance profile ${names.instanceProfileName}`);
          state.instanceProfileArn = InstanceProfile?.Arn;
          rolesInProfile = (InstanceProfile?.Roles ?? []).map((role) => role.RoleName ?? '');
          log(`Reusing instance profile ${state.instanceProfileArn}`);
        }
        if (rolesInProfile.includes(names.roleName)) {
          log(`${names.roleName} is already in the profile`);
          return;
        }
        if (rolesInProfile.length > 0) {
          throw new Error(`Instance profile ${names.instanceProfileName} holds role ${rolesInProfile.join(', ')}, and a profile holds one role. Run \`npm run infra:down\` for this stack first.`);
        }
        await aws.iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: names.instanceProfileName, RoleName: names.roleName }));
        log(`Added ${names.roleName} to ${names.instanceProfileName}`);
      },
    },
    {
      title: 'Wait until IAM shows the role inside the instance profile',
      why: 'IAM is eventually consistent; launching before the profile is visible fails with "Invalid IAM Instance Profile name".',
      cli: [`aws iam wait instance-profile-exists --instance-profile-name ${names.instanceProfileName}`],
      run: async (deps) => {
        const { aws, log } = deps;
        log('IAM is eventually consistent: waiting until the new instance profile is visible with its role');
        const visible = await waitFor(
          async () => {
            try {
              const { InstanceProfile } = await aws.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: names.instanceProfileName }));
              return InstanceProfile?.Roles?.some((role) => role.RoleName === names.roleName) ? true : undefined;
            } catch (error) {
              if (isAwsError(error, 'NoSuchEntityException')) return undefined;
              throw error;
            }
          },
          { intervalMs: 2_000, timeoutMs: 60_000 },
          deps,
        );
        if (!visible) throw new Error(`Instance profile ${names.instanceProfileName} did not show role ${names.roleName} within 60 s. Run \`npm run infra:up\` again.`);
        log('The instance profile is visible');
      },
    },
    {
      title: `Create the security group ${names.securityGroupName}: TCP ${APP_PORT} from ${settings.allowCidr} only, no SSH`,
      why: 'Only the app port is reachable, and only from the network you named. Outbound traffic stays open because boot installs Node from the AL2023 repositories and dependencies from the npm registry.',
      cli: [
        `VPC_ID=$(aws ec2 describe-vpcs --region ${region} --filters Name=is-default,Values=true --query 'Vpcs[0].VpcId' --output text)`,
        `SG_ID=$(aws ec2 create-security-group --region ${region} --group-name ${names.securityGroupName} --description 'S3 Photo Share demo (${stack})' --vpc-id "$VPC_ID" --tag-specifications 'ResourceType=security-group,Tags=[${ec2TagsCli}]' --query GroupId --output text)`,
        `aws ec2 authorize-security-group-ingress --region ${region} --group-id "$SG_ID" --protocol tcp --port ${APP_PORT} --cidr ${settings.allowCidr}`,
      ],
      run: async ({ aws, log }, state) => {
        const { Vpcs = [] } = await aws.ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }));
        const vpcId = Vpcs[0]?.VpcId;
        if (!vpcId) throw new Error(`Region ${region} has no default VPC. Create one with \`aws ec2 create-default-vpc --region ${region}\`, or use another region.`);

        let ingress: IpPermission[] = [];
        try {
          const { GroupId } = await aws.ec2.send(
            new CreateSecurityGroupCommand({
              GroupName: names.securityGroupName,
              Description: `S3 Photo Share demo (${stack})`,
              VpcId: vpcId,
              TagSpecifications: [{ ResourceType: 'security-group', Tags: [{ Key: 'Name', Value: stack }, ...tags] }],
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
          assertStackOwns(group?.Tags, stack, `Security group ${names.securityGroupName}`);
          state.securityGroupId = group?.GroupId;
          ingress = group?.IpPermissions ?? [];
          log(`Reusing security group ${state.securityGroupId}`);
        }
        const groupId = required(state.securityGroupId, 'the security group id');

        const wanted = (rule: IpPermission) => rule.IpProtocol === 'tcp' && rule.FromPort === APP_PORT && rule.ToPort === APP_PORT;
        const stale = ingress.flatMap((rule) =>
          wanted(rule) ? (rule.IpRanges ?? []).filter((range) => range.CidrIp !== settings.allowCidr).map((range) => ({ ...rule, IpRanges: [range], Ipv6Ranges: [], UserIdGroupPairs: [], PrefixListIds: [] })) : [rule],
        );
        if (stale.length > 0) {
          await aws.ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: stale }));
          log(`Revoked ${stale.length} inbound rule(s) other than TCP ${APP_PORT} from ${settings.allowCidr}`);
        }
        if (ingress.some((rule) => wanted(rule) && rule.IpRanges?.some((range) => range.CidrIp === settings.allowCidr))) {
          log(`TCP ${APP_PORT} from ${settings.allowCidr} is already allowed`);
          return;
        }
        await aws.ec2.send(
          new AuthorizeSecurityGroupIngressCommand({
            GroupId: groupId,
            IpPermissions: [{ IpProtocol: 'tcp', FromPort: APP_PORT, ToPort: APP_PORT, IpRanges: [{ CidrIp: settings.allowCidr, Description: 'S3 Photo Share HTTP' }] }],
          }),
        );
        log(`Allowed TCP ${APP_PORT} from ${settings.allowCidr}`);
      },
    },
    {
      title: 'Resolve the latest Amazon Linux 2023 AMI from the public SSM parameter',
      why: 'AMI ids differ per region and change with every release; AWS publishes the current one under a stable parameter name.',
      cli: [`AMI_ID=$(aws ssm get-parameter --region ${region} --name ${amiParameterName(settings.instanceType)} --query Parameter.Value --output text)`],
      run: async ({ aws, log }, state) => {
        const { Parameter } = await aws.ssm.send(new GetParameterCommand({ Name: amiParameterName(settings.instanceType) }));
        state.amiId = required(Parameter?.Value, 'the AMI id');
        log(`Amazon Linux 2023: ${state.amiId}`);
      },
    },
    {
      title: `Launch a ${settings.instanceType} with the instance profile, IMDSv2 required, and the rendered user-data`,
      why: 'IMDSv2 (HttpTokens=required) makes the role credentials need a session token; hop limit 2 lets a container on the host reach them too. No key pair: there is no SSH. An instance from an earlier run is reused, with its profile and IMDSv2 checked as `attach` does.',
      cli: [
        `INSTANCE_ID=$(aws ec2 run-instances --region ${region} --image-id "$AMI_ID" --instance-type ${settings.instanceType} --count 1 --security-group-ids "$SG_ID" --iam-instance-profile Name=${names.instanceProfileName} --metadata-options HttpTokens=required,HttpPutResponseHopLimit=2,HttpEndpoint=enabled --user-data file://user-data.sh --tag-specifications 'ResourceType=instance,Tags=[${ec2TagsCli}]' 'ResourceType=volume,Tags=[${ec2TagsCli}]' 'ResourceType=network-interface,Tags=[${ec2TagsCli}]' --query 'Instances[0].InstanceId' --output text)`,
        '# user-data.sh is infra/user-data.sh with {{Bucket}}, {{Prefix}}, {{Region}}, {{ReleasePrefix}} and {{Port}} filled in; it holds no credential.',
        `# If this fails with "Invalid IAM Instance Profile name", IAM has not reached EC2 yet: retry with backoff for up to ${seconds(PROFILE_PROPAGATION_BUDGET_MS)}.`,
      ],
      run: async (deps, state) => {
        const { aws, log } = deps;
        const existing = await findStackInstance(deps, stack);
        const instanceProfileArn = required(state.instanceProfileArn, 'the instance profile ARN');
        if (existing) {
          state.instanceId = existing.InstanceId;
          log(`Reusing instance ${existing.InstanceId} (${existing.State?.Name}); user-data only runs on first boot, so run \`npm run infra:down\` then up to deploy a new release`);
          await ensureInstanceUsesProfile(deps, existing, instanceProfileArn);
          return;
        }
        const userData = renderUserData({
          bucket,
          keyPrefix: settings.keyPrefix,
          region,
          releasePrefix: releaseObjectPrefix(names.releasePrefix, required(state.releaseId, 'the release id')),
          port: APP_PORT,
        });
        const instanceTags = [{ Key: 'Name', Value: stack }, ...tags];
        const launch = () =>
          aws.ec2.send(
            new RunInstancesCommand({
              ImageId: required(state.amiId, 'the AMI id'),
              InstanceType: settings.instanceType as RunInstancesInstanceType,
              MinCount: 1,
              MaxCount: 1,
              SecurityGroupIds: [required(state.securityGroupId, 'the security group id')],
              IamInstanceProfile: { Arn: instanceProfileArn },
              MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 2, HttpEndpoint: 'enabled' },
              UserData: Buffer.from(userData, 'utf8').toString('base64'),
              TagSpecifications: (['instance', 'volume', 'network-interface'] as const).map((ResourceType) => ({ ResourceType, Tags: instanceTags })),
            }),
          );
        const { Instances = [] } = await retryWithBackoff(
          launch,
          {
            isRetryable: isProfilePropagationError,
            describeWait: (delayMs, waitedMs) =>
              `EC2 does not see the new instance profile yet (IAM is eventually consistent); retrying in ${seconds(delayMs)} (waited ${seconds(waitedMs)} of up to ${seconds(PROFILE_PROPAGATION_BUDGET_MS)})`,
            firstDelayMs: 2_000,
            maxDelayMs: 20_000,
            budgetMs: PROFILE_PROPAGATION_BUDGET_MS,
          },
          deps,
        );
        state.instanceId = required(Instances[0]?.InstanceId, 'the new instance id');
        log(`Launched ${state.instanceId}`);
      },
    },
    {
      title: 'Wait until the instance is running and has a public address',
      why: 'The app URL is the public IPv4 address that EC2 assigns in the default subnet.',
      cli: [
        `aws ec2 wait instance-running --region ${region} --instance-ids "$INSTANCE_ID"`,
        `aws ec2 describe-instances --region ${region} --instance-ids "$INSTANCE_ID" --query 'Reservations[0].Instances[0].PublicIpAddress' --output text`,
      ],
      run: async (deps, state) => {
        const instanceId = required(state.instanceId, 'the instance id');
        const publicIp = await waitFor(
          async () => {
            const { Reservations = [] } = await deps.aws.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
            const instance = Reservations[0]?.Instances?.[0];
            return instance?.State?.Name === 'running' ? instance.PublicIpAddress : undefined;
          },
          { intervalMs: 5_000, timeoutMs: INSTANCE_RUNNING_TIMEOUT_MS },
          deps,
        );
        if (!publicIp) {
          throw new Error(`${instanceId} was not running with a public IPv4 address after ${seconds(INSTANCE_RUNNING_TIMEOUT_MS)}. Check it with \`aws ec2 describe-instances --region ${region} --instance-ids ${instanceId}\`.`);
        }
        state.appUrl = `http://${publicIp}${APP_PORT === 80 ? '' : `:${APP_PORT}`}/`;
        deps.log(`${instanceId} is running at ${publicIp}`);
      },
    },
    {
      title: 'Wait until the app answers GET /readyz with 200',
      why: 'The first boot installs Node and the dependencies before the app starts; /readyz turns 200 only once the app reaches the bucket with the instance role.',
      cli: [`curl --fail http://<public-ip>/readyz`],
      run: async (deps, state) => {
        const appUrl = required(state.appUrl, 'the app URL');
        deps.log(`Polling ${appUrl}readyz for up to ${seconds(READINESS_TIMEOUT_MS)} while the instance boots`);
        const ready = await waitFor(async () => ((await deps.isReady(`${appUrl}readyz`)) ? true : undefined), { intervalMs: 10_000, timeoutMs: READINESS_TIMEOUT_MS }, deps);
        if (!ready) {
          throw new Error(
            `${appUrl}readyz did not answer 200 within ${seconds(READINESS_TIMEOUT_MS)}. The instance is up; read its boot log with ` +
              `\`aws ec2 get-console-output --region ${region} --instance-id ${state.instanceId} --latest --output text\`, then run \`npm run infra:up\` again to keep waiting.`,
          );
        }
        deps.log('The app is ready');
      },
    },
  ];
}

type RunInstancesInstanceType = NonNullable<ConstructorParameters<typeof RunInstancesCommand>[0]['InstanceType']>;

export function newUpState(): UpState {
  return {};
}

export function formatUpSummary(state: UpState): string[] {
  return [
    '',
    `App URL:              ${state.appUrl}`,
    `Instance id:          ${state.instanceId}`,
    `Role ARN:             ${state.roleArn}`,
    `Instance profile ARN: ${state.instanceProfileArn}`,
  ];
}

/** The one live instance of this stack, if an earlier run launched it. */
export async function findStackInstance({ aws }: AwsDeps, stack: string): Promise<Instance | undefined> {
  const { Reservations = [] } = await aws.ec2.send(
    new DescribeInstancesCommand({ Filters: [...stackTagFilters(stack), { Name: 'instance-state-name', Values: ACTIVE_INSTANCE_STATES }] }),
  );
  return Reservations.flatMap((reservation) => reservation.Instances ?? [])[0];
}

async function getBucketTags(s3: AwsDeps['aws']['s3'], bucket: string) {
  try {
    const { TagSet = [] } = await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }));
    return TagSet;
  } catch (error) {
    if (isAwsError(error, 'NoSuchTagSet')) return [];
    throw error;
  }
}
