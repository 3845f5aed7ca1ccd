// The permissions boundary of the stack role: a managed policy that caps the role at what the app needs, whatever inline policy it holds.
import {
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  DeletePolicyCommand,
  DeletePolicyVersionCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  ListPolicyVersionsCommand,
} from '@aws-sdk/client-iam';
import { isDeepStrictEqual } from 'node:util';
import { isAwsError, unlessMissing, type AwsClients, type AwsDeps } from '../aws-clients.js';
import { assertStackOwns, PLAN_ACCOUNT_ID, stackNames, stackTags, tagsCli, type BucketSettings, type StackSettings } from '../stack.js';
import type { StackState } from '../state.js';
import { required, type Step } from '../step.js';
import { renderPolicy } from '../templates.js';

export function permissionsBoundaryArn(stack: string, accountId: string): string {
  return `arn:aws:iam::${accountId}:policy/${stackNames(stack).permissionsBoundaryName}`;
}

/** The most the stack role may ever do: the app's own actions on the whole bucket, the stack's log group and its CSRF secret. */
export function permissionsBoundary(settings: BucketSettings, accountId: string) {
  const names = stackNames(settings.stack);
  return renderPolicy('permissions-boundary', {
    Bucket: settings.bucket,
    Region: settings.region,
    AccountId: accountId,
    LogGroup: names.logGroupName,
    CsrfSecretParameter: names.csrfSecretParameterName,
  });
}

/**
 * Creates the boundary, or, when this stack's exists with another document, makes the rendered one its default version.
 * Only an administrator may write it (the operator policy denies it): the operator finds it made by `infra:ci-role`, unchanged, and only reads.
 */
export function permissionsBoundaryUpStep(settings: BucketSettings): Step<AwsDeps, StackState> {
  const name = stackNames(settings.stack).permissionsBoundaryName;
  return {
    title: `Create the permissions boundary ${name} (an administrator's step; ci-role makes it for CI)`,
    why: `A role can never do more than its boundary allows, whatever policy it is given. Operators and CI may create the stack role and write its policy only with this boundary on it (iam:PermissionsBoundary), and may not change or remove the boundary: so even a compromised deploy cannot grant the role more than the app needs on ${settings.bucket}, the stack's log group and its CSRF secret.`,
    cli: [
      `aws iam create-policy --policy-name ${name} --policy-document file://permissions-boundary.json --tags ${tagsCli(settings)}   # with your account id ($ACCOUNT_ID) for ${PLAN_ACCOUNT_ID}`,
      `aws iam create-policy-version --policy-arn ${permissionsBoundaryArn(settings.stack, '$ACCOUNT_ID')} --policy-document file://permissions-boundary.json --set-as-default   # only when it exists with another document`,
    ],
    documents: { 'permissions-boundary.json': permissionsBoundary(settings, PLAN_ACCOUNT_ID) },
    run: async ({ aws, log }, state) => {
      const accountId = required(state.accountId, 'the account id');
      const arn = permissionsBoundaryArn(settings.stack, accountId);
      const document = permissionsBoundary(settings, accountId);
      const found = await unlessMissing(aws.iam.send(new GetPolicyCommand({ PolicyArn: arn })), 'NoSuchEntityException');
      if (!found?.Policy) {
        await byAnAdministrator(
          name,
          aws.iam.send(new CreatePolicyCommand({ PolicyName: name, PolicyDocument: JSON.stringify(document), Tags: stackTags(settings) })),
        );
        log(`Created permissions boundary ${arn}`);
        return;
      }
      assertStackOwns(found.Policy.Tags, settings, `Policy ${name}`);
      const { PolicyVersion } = await aws.iam.send(
        new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: found.Policy.DefaultVersionId }),
      );
      // IAM returns policy documents URL-encoded (RFC 3986).
      if (isDeepStrictEqual(JSON.parse(decodeURIComponent(PolicyVersion?.Document ?? '{}')), document)) {
        log(`Permissions boundary ${arn} is unchanged`);
        return;
      }
      // A policy keeps at most five versions: drop the old ones first, so each change leaves two.
      await byAnAdministrator(name, deleteOldVersions(aws, arn));
      await byAnAdministrator(
        name,
        aws.iam.send(new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: JSON.stringify(document), SetAsDefault: true })),
      );
      log(`Permissions boundary ${arn} updated`);
    },
  };
}

/** A boundary write, refused to operators and CI by design: said in those words rather than as IAM's AccessDenied. */
async function byAnAdministrator<T>(name: string, write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (error) {
    // IAM models no AccessDenied exception, so the SDK names the error by its wire code.
    if (!isAwsError(error, 'AccessDenied')) throw error;
    throw new Error(
      `Only an administrator may write the permissions boundary ${name}: the operator policy denies it, so CI can never widen it. ` +
        'Run `npm run infra:ci-role` for this stack, or this `up` once, with administrator credentials; after that the operator only reads it.',
      { cause: error },
    );
  }
}

async function deleteOldVersions(aws: AwsClients, arn: string): Promise<void> {
  const { Versions = [] } = await aws.iam.send(new ListPolicyVersionsCommand({ PolicyArn: arn }));
  for (const version of Versions.filter((candidate) => !candidate.IsDefaultVersion)) {
    await aws.iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: version.VersionId }));
  }
}

/**
 * Deletes the boundary once neither role that relies on it is left: down keeps it while ci-role's deploy role exists (CI
 * needs it to recreate the stack role), and `ci-role --delete` keeps it while the stack role exists.
 */
export function permissionsBoundaryDownStep(settings: StackSettings, stillNeededBy: string): Step<AwsDeps, StackState> {
  const name = stackNames(settings.stack).permissionsBoundaryName;
  return {
    title: `Delete the permissions boundary ${name}, unless the role ${stillNeededBy} still needs it (an administrator's step)`,
    why: `IAM deletes a managed policy only after its other versions. The boundary outlives the stack while ${stillNeededBy} exists; the operator policy denies deleting it, so CI never can.`,
    cli: [
      `aws iam get-role --role-name ${stillNeededBy}   # must fail with NoSuchEntity, or the boundary stays`,
      `aws iam list-policy-versions --policy-arn ${permissionsBoundaryArn(settings.stack, '$ACCOUNT_ID')}   # delete each non-default one with: aws iam delete-policy-version --policy-arn … --version-id <id>`,
      `aws iam delete-policy --policy-arn ${permissionsBoundaryArn(settings.stack, '$ACCOUNT_ID')}`,
    ],
    run: async ({ aws, log }, state) => {
      const arn = permissionsBoundaryArn(settings.stack, required(state.accountId, 'the account id'));
      const found = await unlessMissing(aws.iam.send(new GetPolicyCommand({ PolicyArn: arn })), 'NoSuchEntityException');
      if (!found?.Policy) {
        log(`Permissions boundary ${name} is already gone`);
        return;
      }
      assertStackOwns(found.Policy.Tags, settings, `Policy ${name}`);
      const user = await unlessMissing(aws.iam.send(new GetRoleCommand({ RoleName: stillNeededBy })), 'NoSuchEntityException');
      if (user?.Role) {
        log(`Permissions boundary ${name} kept: role ${stillNeededBy} still needs it`);
        return;
      }
      await deleteOldVersions(aws, arn);
      await aws.iam.send(new DeletePolicyCommand({ PolicyArn: arn }));
      log(`Deleted permissions boundary ${name}`);
    },
  };
}
