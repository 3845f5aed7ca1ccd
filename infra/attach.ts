// The CLI twin of the console's "Modify IAM role": gives an existing instance the stack's instance profile and requires IMDSv2 on it.
import {
  AssociateIamInstanceProfileCommand,
  DescribeIamInstanceProfileAssociationsCommand,
  DescribeInstancesCommand,
  ModifyInstanceMetadataOptionsCommand,
  ReplaceIamInstanceProfileAssociationCommand,
  type Instance,
} from '@aws-sdk/client-ec2';
import { GetInstanceProfileCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { isAwsError, type AwsClients } from './aws-clients.js';
import { stackNames, type StackSettings } from './stack.js';
import { required, type Runtime, type Step } from './step.js';

export interface AwsDeps extends Runtime {
  aws: AwsClients;
}

export interface AttachSettings extends StackSettings {
  instanceId: string;
}

interface AttachState {
  instanceProfileArn?: string;
  instance?: Instance;
}

/** Shared first step of every command: fails early, with the identity in view, when the default chain finds no credentials. */
export function identityStep<State>(): Step<AwsDeps, State> {
  return {
    title: 'Check which AWS identity the default credential chain resolves to',
    why: 'Every later call runs as this identity; no access key is passed anywhere, the SDK finds credentials the way the CLI does.',
    cli: ['aws sts get-caller-identity'],
    run: async ({ aws, log }) => {
      const identity = await aws.sts.send(new GetCallerIdentityCommand({}));
      log(`Operating as ${identity.Arn} in account ${identity.Account}`);
    },
  };
}

/**
 * Associates the profile with the instance, or replaces the profile already there, then requires IMDSv2.
 * Up reuses this for an instance it finds from an earlier run, so both commands converge the same way.
 */
export async function ensureInstanceUsesProfile({ aws, log }: AwsDeps, instance: Instance, instanceProfileArn: string): Promise<void> {
  const instanceId = required(instance.InstanceId, 'the instance id');
  const { IamInstanceProfileAssociations: associations = [] } = await aws.ec2.send(
    new DescribeIamInstanceProfileAssociationsCommand({
      Filters: [
        { Name: 'instance-id', Values: [instanceId] },
        { Name: 'state', Values: ['associating', 'associated'] },
      ],
    }),
  );
  const [current] = associations;
  if (!current) {
    await aws.ec2.send(new AssociateIamInstanceProfileCommand({ InstanceId: instanceId, IamInstanceProfile: { Arn: instanceProfileArn } }));
    log(`Associated ${instanceProfileArn} with ${instanceId}`);
  } else if (current.IamInstanceProfile?.Arn === instanceProfileArn) {
    log(`${instanceId} already uses ${instanceProfileArn}`);
  } else {
    await aws.ec2.send(
      new ReplaceIamInstanceProfileAssociationCommand({ AssociationId: current.AssociationId, IamInstanceProfile: { Arn: instanceProfileArn } }),
    );
    log(`Replaced ${current.IamInstanceProfile?.Arn} with ${instanceProfileArn} on ${instanceId}`);
  }

  if (instance.MetadataOptions?.HttpTokens === 'required' && instance.MetadataOptions.HttpEndpoint !== 'disabled') {
    log(`${instanceId} already requires IMDSv2`);
    return;
  }
  await aws.ec2.send(
    new ModifyInstanceMetadataOptionsCommand({ InstanceId: instanceId, HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 2 }),
  );
  log(`${instanceId} now requires IMDSv2 (session tokens), hop limit 2`);
}

export function attachSteps(settings: AttachSettings): Step<AwsDeps, AttachState>[] {
  const names = stackNames(settings.stack);
  return [
    identityStep(),
    {
      title: `Look up the instance profile ${names.instanceProfileName}`,
      why: 'EC2 attaches an instance profile, not a role; `npm run infra:up` created this one with the app role inside.',
      cli: [
        `PROFILE_ARN=$(aws iam get-instance-profile --instance-profile-name ${names.instanceProfileName} --query InstanceProfile.Arn --output text)`,
      ],
      run: async ({ aws, log }, state) => {
        try {
          const { InstanceProfile } = await aws.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: names.instanceProfileName }));
          state.instanceProfileArn = required(InstanceProfile?.Arn, 'the instance profile ARN');
          log(`Found ${state.instanceProfileArn}`);
        } catch (error) {
          if (!isAwsError(error, 'NoSuchEntityException')) throw error;
          throw new Error(`Instance profile ${names.instanceProfileName} does not exist. Create it first with \`npm run infra:up\` (same --stack).`);
        }
      },
    },
    {
      title: `Find instance ${settings.instanceId}`,
      why: 'Its current profile association and metadata options decide between associate and replace, and whether IMDSv2 must be switched on.',
      cli: [`aws ec2 describe-instances --region ${settings.region} --instance-ids ${settings.instanceId}`],
      run: async ({ aws }, state) => {
        try {
          const { Reservations = [] } = await aws.ec2.send(new DescribeInstancesCommand({ InstanceIds: [settings.instanceId] }));
          state.instance = Reservations.flatMap((reservation) => reservation.Instances ?? [])[0];
        } catch (error) {
          if (!isAwsError(error, 'InvalidInstanceID.NotFound', 'InvalidInstanceID.Malformed')) throw error;
        }
        if (!state.instance) throw new Error(`Instance ${settings.instanceId} was not found in ${settings.region}. Check --instance-id and --region.`);
      },
    },
    {
      title: 'Attach the instance profile and require IMDSv2',
      why: 'An instance holds at most one profile: associate when it has none, replace the association when it has another. IMDSv2 makes the role credentials need a session token, which blocks SSRF-style theft.',
      cli: [
        `aws ec2 describe-iam-instance-profile-associations --region ${settings.region} --filters Name=instance-id,Values=${settings.instanceId} Name=state,Values=associating,associated`,
        `aws ec2 associate-iam-instance-profile --region ${settings.region} --instance-id ${settings.instanceId} --iam-instance-profile Arn="$PROFILE_ARN"   # when none is associated`,
        `aws ec2 replace-iam-instance-profile-association --region ${settings.region} --association-id <iip-assoc-id from above> --iam-instance-profile Arn="$PROFILE_ARN"   # when another is`,
        `aws ec2 modify-instance-metadata-options --region ${settings.region} --instance-id ${settings.instanceId} --http-tokens required --http-endpoint enabled --http-put-response-hop-limit 2`,
      ],
      run: async (deps, state) => {
        await ensureInstanceUsesProfile(deps, required(state.instance, 'the instance'), required(state.instanceProfileArn, 'the instance profile ARN'));
      },
    },
  ];
}

export function newAttachState(): AttachState {
  return {};
}
