// The IAM role and its instance profile: global resources, so they also record the stack's region, which every command checks first.
import {
  DescribeIamInstanceProfileAssociationsCommand,
  DescribeInstancesCommand,
  type IamInstanceProfileAssociation,
} from '@aws-sdk/client-ec2';
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  DeleteInstanceProfileCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  PutRolePermissionsBoundaryCommand,
  PutRolePolicyCommand,
  RemoveRoleFromInstanceProfileCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { isDeepStrictEqual } from 'node:util';
import { isAwsError, retryUntilVisible, unlessMissing, type AwsDeps } from '../aws-clients.js';
import {
  assertStackOwns,
  ownershipOf,
  PLAN_ACCOUNT_ID,
  stackNames,
  stackTags,
  tagsCli,
  WrongRegionError,
  type StackSettings,
  type UpSettings,
} from '../stack.js';
import type { StackState } from '../state.js';
import { required, waitFor, type Step } from '../step.js';
import { renderPolicy, type PolicyDocument } from '../templates.js';
import { LIVE_STATES } from './instance.js';
import { permissionsBoundaryArn } from './permissions-boundary.js';

export function appPolicy(settings: UpSettings, accountId: string) {
  const names = stackNames(settings.stack);
  return renderPolicy('app-policy', {
    Bucket: settings.bucket,
    Prefix: settings.keyPrefix,
    ReleasePrefix: names.releasePrefix,
    Region: settings.region,
    AccountId: accountId,
    LogGroup: names.logGroupName,
    CsrfSecretParameter: names.csrfSecretParameterName,
  });
}

export function trustPolicy() {
  return renderPolicy('trust-policy', {});
}

/** A role as the commands create it: who may assume it, and the boundary that caps it (the stack role's; the deploy role has none). */
export interface RoleSpec {
  roleName: string;
  trust: PolicyDocument;
  permissionsBoundaryArn?: string;
  /** A rerun that finds another trust policy: the admin-run ci-role rewrites it; up refuses, since operators and CI may not write trust. */
  onTrustChanged: 'rewrite' | 'refuse';
}

/**
 * Creates the role with the stack tags (and its boundary), or, when this stack's role already exists, converges it: the
 * boundary set if missing, the trust policy checked. Refuses a role of that name the stack did not create. Returns the role's ARN.
 */
export async function createOrConvergeRole(deps: AwsDeps, settings: StackSettings, role: RoleSpec): Promise<string | undefined> {
  const { aws, log } = deps;
  const { roleName, trust, permissionsBoundaryArn } = role;
  const document = JSON.stringify(trust);
  try {
    const { Role } = await aws.iam.send(
      new CreateRoleCommand({
        RoleName: roleName,
        AssumeRolePolicyDocument: document,
        PermissionsBoundary: permissionsBoundaryArn,
        Tags: stackTags(settings),
      }),
    );
    log(`Created role ${Role?.Arn}${permissionsBoundaryArn ? ` with permissions boundary ${permissionsBoundaryArn}` : ''}`);
    return Role?.Arn;
  } catch (error) {
    if (!isAwsError(error, 'EntityAlreadyExistsException')) throw error;
  }
  // IAM says it exists, but a role made a moment ago (a run that failed just before) may not be readable yet.
  const { Role } = await retryUntilVisible(
    deps,
    `role ${roleName}`,
    () => aws.iam.send(new GetRoleCommand({ RoleName: roleName })),
    'NoSuchEntityException',
  );
  assertStackOwns(Role?.Tags, settings, `Role ${roleName}`);
  // IAM returns the trust policy URL-encoded (RFC 3986); compared as JSON, since IAM may space it differently.
  if (isDeepStrictEqual(JSON.parse(decodeURIComponent(Role?.AssumeRolePolicyDocument ?? '{}')), trust)) {
    log(`Reusing role ${Role?.Arn}; trust policy unchanged`);
  } else if (role.onTrustChanged === 'refuse') {
    throw new Error(
      `Role ${roleName} has a trust policy this tool did not write, so something other than EC2 may be able to assume it. ` +
        `Up never rewrites trust (operators and CI may not); an administrator should check who changed it, then restore it: aws iam update-assume-role-policy --role-name ${roleName} --policy-document file://trust-policy.json (see the plan).`,
    );
  } else {
    await aws.iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: roleName, PolicyDocument: document }));
    log(`Reusing role ${Role?.Arn}; trust policy updated`);
  }
  if (permissionsBoundaryArn && Role?.PermissionsBoundary?.PermissionsBoundaryArn !== permissionsBoundaryArn) {
    await aws.iam.send(new PutRolePermissionsBoundaryCommand({ RoleName: roleName, PermissionsBoundary: permissionsBoundaryArn }));
    log(`Permissions boundary ${permissionsBoundaryArn} set on ${roleName}`);
  }
  return Role?.Arn;
}

/** Deletes the role and its inline policies, and detaches (never deletes) its managed ones; only a role carrying the stack tags. */
export async function deleteOwnedRole({ aws, log }: AwsDeps, settings: StackSettings, roleName: string): Promise<void> {
  const found = await unlessMissing(aws.iam.send(new GetRoleCommand({ RoleName: roleName })), 'NoSuchEntityException');
  if (!found?.Role) {
    log(`Role ${roleName} is already gone`);
    return;
  }
  assertStackOwns(found.Role.Tags, settings, `Role ${roleName}`);
  const { PolicyNames = [] } = await aws.iam.send(new ListRolePoliciesCommand({ RoleName: roleName }));
  for (const policyName of PolicyNames) {
    await aws.iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: policyName }));
    log(`Deleted inline policy ${policyName}`);
  }
  const { AttachedPolicies = [] } = await aws.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName }));
  for (const policy of AttachedPolicies) {
    await aws.iam.send(new DetachRolePolicyCommand({ RoleName: roleName, PolicyArn: policy.PolicyArn }));
    log(`Detached ${policy.PolicyArn}`);
  }
  await aws.iam.send(new DeleteRoleCommand({ RoleName: roleName }));
  log(`Deleted role ${roleName}`);
}

/** Reads the tags of the role and profile, which IAM keeps globally, and refuses when they place the stack in another region. */
export function stackRegionCheckStep(settings: StackSettings): Step<AwsDeps, StackState> {
  const names = stackNames(settings.stack);
  return {
    title: `Check that stack ${settings.stack} lives in ${settings.region}`,
    why: 'IAM is global while EC2, S3 and CloudWatch Logs are regional: the role and profile record the region (tag stack-region). Acting in another region would find no instance there and break the real one, so it is refused with the right region named.',
    cli: [
      `aws iam get-role --role-name ${names.roleName} --query Role.Tags   # stack-region must be ${settings.region}`,
      `aws iam get-instance-profile --instance-profile-name ${names.instanceProfileName} --query InstanceProfile.Tags`,
    ],
    run: async ({ aws, log }) => {
      const role = await unlessMissing(aws.iam.send(new GetRoleCommand({ RoleName: names.roleName })), 'NoSuchEntityException');
      const profile = await unlessMissing(
        aws.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: names.instanceProfileName })),
        'NoSuchEntityException',
      );
      for (const [what, tags] of [
        [`role ${names.roleName}`, role?.Role?.Tags],
        [`instance profile ${names.instanceProfileName}`, profile?.InstanceProfile?.Tags],
      ] as const) {
        const ownership = ownershipOf(tags, settings);
        if (ownership.owner === 'this-stack-elsewhere') throw new WrongRegionError(settings, ownership.region, what);
      }
      log(
        role?.Role || profile?.InstanceProfile
          ? `Stack ${settings.stack} is recorded in ${settings.region}`
          : `Stack ${settings.stack} has no role or profile yet`,
      );
    },
  };
}

export function roleUpSteps(settings: UpSettings): Step<AwsDeps, StackState>[] {
  const names = stackNames(settings.stack);
  const tags = stackTags(settings);
  const boundaryCli = permissionsBoundaryArn(settings.stack, '$ACCOUNT_ID');
  return [
    {
      title: `Create the IAM role ${names.roleName}, assumable only by EC2, within the permissions boundary`,
      why: 'The trust policy says who may assume the role; naming only ec2.amazonaws.com means no person, Lambda or other service can use it. It is written only at creation: a rerun checks it and stops if it changed, since only an administrator may rewrite trust. The boundary caps the role whatever policy it is given. The tags, set at creation, mark it as this stack’s and record its region.',
      cli: [
        `aws iam create-role --role-name ${names.roleName} --assume-role-policy-document file://trust-policy.json --permissions-boundary ${boundaryCli} --tags ${tagsCli(settings)}`,
        `aws iam put-role-permissions-boundary --role-name ${names.roleName} --permissions-boundary ${boundaryCli}   # when this stack's role exists without it`,
      ],
      documents: { 'trust-policy.json': trustPolicy() },
      run: async (deps, state) => {
        state.roleArn = await createOrConvergeRole(deps, settings, {
          roleName: names.roleName,
          trust: trustPolicy(),
          permissionsBoundaryArn: permissionsBoundaryArn(settings.stack, required(state.accountId, 'the account id')),
          onTrustChanged: 'refuse',
        });
      },
    },
    {
      title: `Give the role the app's permissions (inline policy ${names.rolePolicyName})`,
      why: `List only with an s3:prefix under ${settings.keyPrefix}; read, write and delete only under ${settings.bucket}/${settings.keyPrefix}*; read this stack's releases; write log events to the log group ${names.logGroupName} only; read the parameter ${names.csrfSecretParameterName} (the CSRF secret the instances share behind a load balancer); nothing else. put-role-policy overwrites in place, so a rerun converges.`,
      cli: [
        `aws iam put-role-policy --role-name ${names.roleName} --policy-name ${names.rolePolicyName} --policy-document file://app-policy.json   # with your account id ($ACCOUNT_ID) for ${PLAN_ACCOUNT_ID}`,
      ],
      documents: { 'app-policy.json': appPolicy(settings, PLAN_ACCOUNT_ID) },
      run: async (deps, state) => {
        const { aws, log } = deps;
        const document = appPolicy(settings, required(state.accountId, 'the account id'));
        await retryUntilVisible(
          deps,
          `role ${names.roleName}`,
          () =>
            aws.iam.send(
              new PutRolePolicyCommand({
                RoleName: names.roleName,
                PolicyName: names.rolePolicyName,
                PolicyDocument: JSON.stringify(document),
              }),
            ),
          'NoSuchEntityException',
        );
        log(`Policy ${names.rolePolicyName} set on ${names.roleName}`);
      },
    },
    {
      title: `Create the instance profile ${names.instanceProfileName} and add the role to it`,
      why: 'EC2 attaches an instance profile, not a role. The console creates one silently with the same name as the role; the CLI and SDK must create it and add the role themselves.',
      cli: [
        `aws iam create-instance-profile --instance-profile-name ${names.instanceProfileName} --tags ${tagsCli(settings)}`,
        `aws iam add-role-to-instance-profile --instance-profile-name ${names.instanceProfileName} --role-name ${names.roleName}`,
      ],
      run: async (deps, state) => {
        const { aws, log } = deps;
        let rolesInProfile: string[] = [];
        try {
          const { InstanceProfile } = await aws.iam.send(
            new CreateInstanceProfileCommand({ InstanceProfileName: names.instanceProfileName, Tags: tags }),
          );
          state.instanceProfileArn = InstanceProfile?.Arn;
          log(`Created instance profile ${state.instanceProfileArn}`);
        } catch (error) {
          if (!isAwsError(error, 'EntityAlreadyExistsException')) throw error;
          const { InstanceProfile } = await retryUntilVisible(
            deps,
            `instance profile ${names.instanceProfileName}`,
            () => aws.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: names.instanceProfileName })),
            'NoSuchEntityException',
          );
          assertStackOwns(InstanceProfile?.Tags, settings, `Instance profile ${names.instanceProfileName}`);
          state.instanceProfileArn = InstanceProfile?.Arn;
          rolesInProfile = (InstanceProfile?.Roles ?? []).map((role) => role.RoleName ?? '');
          log(`Reusing instance profile ${state.instanceProfileArn}`);
        }
        if (rolesInProfile.includes(names.roleName)) {
          log(`${names.roleName} is already in the profile`);
          return;
        }
        if (rolesInProfile.length > 0) {
          throw new Error(
            `Instance profile ${names.instanceProfileName} holds role ${rolesInProfile.join(', ')}, and a profile holds one role. Run \`npm run infra:down\` for this stack first.`,
          );
        }
        await retryUntilVisible(
          deps,
          `instance profile ${names.instanceProfileName} or role ${names.roleName}`,
          () =>
            aws.iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: names.instanceProfileName, RoleName: names.roleName })),
          'NoSuchEntityException',
        );
        log(`Added ${names.roleName} to ${names.instanceProfileName}`);
      },
    },
    {
      title: 'Wait until IAM shows the role inside the instance profile',
      why: 'IAM is eventually consistent; launching before the profile is visible fails with "Invalid IAM Instance Profile name".',
      cli: [`aws iam wait instance-profile-exists --instance-profile-name ${names.instanceProfileName}`],
      run: async (deps) => {
        deps.log('IAM is eventually consistent: waiting until the instance profile is visible with its role');
        const visible = await waitFor(
          async () => {
            const found = await unlessMissing(
              deps.aws.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: names.instanceProfileName })),
              'NoSuchEntityException',
            );
            return (found?.InstanceProfile?.Roles ?? []).some((role) => role.RoleName === names.roleName) ? true : undefined;
          },
          { intervalMs: 2_000, timeoutMs: 60_000 },
          deps,
        );
        if (!visible)
          throw new Error(
            `Instance profile ${names.instanceProfileName} did not show role ${names.roleName} within 60 s. Run \`npm run infra:up\` again.`,
          );
        deps.log('The instance profile is visible');
      },
    },
  ];
}

/** The stack's instance profile ARN, for attach; refuses a profile this stack did not create. */
export function profileLookupStep(settings: StackSettings): Step<AwsDeps, StackState> {
  const names = stackNames(settings.stack);
  return {
    title: `Look up the instance profile ${names.instanceProfileName}`,
    why: 'EC2 attaches an instance profile, not a role; `npm run infra:up` created this one with the app role inside.',
    cli: [
      `PROFILE_ARN=$(aws iam get-instance-profile --instance-profile-name ${names.instanceProfileName} --query InstanceProfile.Arn --output text)`,
    ],
    run: async ({ aws, log }, state) => {
      const found = await unlessMissing(
        aws.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: names.instanceProfileName })),
        'NoSuchEntityException',
      );
      if (!found?.InstanceProfile)
        throw new Error(
          `Instance profile ${names.instanceProfileName} does not exist. Create it first with \`npm run infra:up\` (same --stack and --region).`,
        );
      assertStackOwns(found.InstanceProfile.Tags, settings, `Instance profile ${names.instanceProfileName}`);
      state.instanceProfileArn = required(found.InstanceProfile.Arn, 'the instance profile ARN');
      log(`Found ${state.instanceProfileArn}`);
    },
  };
}

/** Every live association of the region, page by page (the API cannot filter by profile). */
async function liveAssociations({ aws }: AwsDeps): Promise<IamInstanceProfileAssociation[]> {
  const associations: IamInstanceProfileAssociation[] = [];
  let NextToken: string | undefined;
  do {
    const page = await aws.ec2.send(
      new DescribeIamInstanceProfileAssociationsCommand({ Filters: [{ Name: 'state', Values: ['associating', 'associated'] }], NextToken }),
    );
    associations.push(...(page.IamInstanceProfileAssociations ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return associations;
}

/**
 * The instances that hold the profile and still need it. EC2 keeps a terminated instance's association for a while, so
 * an instance shutting down or terminated (this stack's, which down just ended, or anyone's) does not count.
 */
async function instancesNeedingProfile(deps: AwsDeps, profileArn: string | undefined): Promise<string[]> {
  const holders = (await liveAssociations(deps))
    .filter((association) => association.IamInstanceProfile?.Arn === profileArn)
    .map((association) => required(association.InstanceId, 'the associated instance id'));
  if (holders.length === 0) return [];
  const { Reservations = [] } = await deps.aws.ec2.send(
    new DescribeInstancesCommand({
      Filters: [
        { Name: 'instance-id', Values: holders },
        { Name: 'instance-state-name', Values: LIVE_STATES },
      ],
    }),
  );
  const alive = new Set(Reservations.flatMap((reservation) => reservation.Instances ?? []).map((instance) => instance.InstanceId));
  return holders.filter((instanceId) => alive.has(instanceId));
}

export function roleDownSteps(settings: StackSettings): Step<AwsDeps, StackState>[] {
  const names = stackNames(settings.stack);
  return [
    {
      title: `Remove the role from the instance profile ${names.instanceProfileName}, then delete the profile, unless another instance still uses it`,
      why: 'IAM refuses to delete a profile that still holds a role. An instance that `attach` gave this profile is not the stack’s and is not terminated: deleting the profile under it would leave it without credentials, so down stops and names it.',
      cli: [
        `aws ec2 describe-iam-instance-profile-associations --region ${settings.region} --filters Name=state,Values=associating,associated --query "IamInstanceProfileAssociations[?IamInstanceProfile.Arn=='$PROFILE_ARN'].InstanceId"   # must be empty`,
        `aws iam remove-role-from-instance-profile --instance-profile-name ${names.instanceProfileName} --role-name ${names.roleName}`,
        `aws iam delete-instance-profile --instance-profile-name ${names.instanceProfileName}`,
      ],
      run: async (deps) => {
        const { aws, log } = deps;
        const found = await unlessMissing(
          aws.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: names.instanceProfileName })),
          'NoSuchEntityException',
        );
        if (!found?.InstanceProfile) {
          log(`Instance profile ${names.instanceProfileName} is already gone`);
          return;
        }
        const profile = found.InstanceProfile;
        assertStackOwns(profile.Tags, settings, `Instance profile ${names.instanceProfileName}`);
        const users = await instancesNeedingProfile(deps, profile.Arn);
        if (users.length > 0) {
          throw new Error(
            `Instance profile ${names.instanceProfileName} is still associated with ${users.join(', ')}, which this stack did not launch (given it by attach?). ` +
              `Down keeps the profile and the role so that instance keeps its credentials. Detach it first (aws ec2 disassociate-iam-instance-profile --region ${settings.region} --association-id <id>), then run down again.`,
          );
        }
        for (const role of profile.Roles ?? []) {
          await aws.iam.send(
            new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName: names.instanceProfileName, RoleName: role.RoleName }),
          );
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
      run: (deps) => deleteOwnedRole(deps, settings, names.roleName),
    },
  ];
}
