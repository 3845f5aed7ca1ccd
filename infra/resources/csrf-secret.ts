// The CSRF secret every instance behind the load balancer shares: an SSM SecureString created once with a random value, never read or printed by infra.
import { randomBytes } from 'node:crypto';
import { DeleteParameterCommand, ListTagsForResourceCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { isAwsError, unlessMissing, type AwsDeps } from '../aws-clients.js';
import { assertStackOwns, ownershipOf, stackNames, stackTags, tagsCli, type StackSettings } from '../stack.js';
import type { StackState } from '../state.js';
import type { Step } from '../step.js';

/** 32 random bytes as hex: 64 characters, above the app's minimum of 32. */
export const CSRF_SECRET_BYTES = 32;

/** The parameter's tags, or undefined when it does not exist (SSM answers InvalidResourceId for a missing parameter). */
async function parameterTags({ aws }: AwsDeps, name: string) {
  const found = await unlessMissing(
    aws.ssm.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: name })),
    'InvalidResourceId',
  );
  return found && (found.TagList ?? []);
}

export function csrfSecretUpStep(settings: StackSettings): Step<AwsDeps, StackState> {
  const name = stackNames(settings.stack).csrfSecretParameterName;
  return {
    title: `Create the SecureString parameter ${name} with a random CSRF secret, unless it exists`,
    why: 'A form served by one instance is posted to whichever instance the load balancer picks, so all of them must sign CSRF tokens with the same secret. Each instance reads it once at start with its own role (ssm:GetParameter on this parameter only); it is encrypted with the AWS managed key aws/ssm. A rerun keeps the existing value: replacing it would invalidate every open form. The value is never printed, logged or put in user-data.',
    cli: [
      `aws ssm list-tags-for-resource --region ${settings.region} --resource-type Parameter --resource-id ${name}   # InvalidResourceId: it does not exist yet`,
      `aws ssm put-parameter --region ${settings.region} --name ${name} --type SecureString --value "$(openssl rand -hex ${CSRF_SECRET_BYTES})" --tags ${tagsCli(settings)}   # only when it does not exist`,
    ],
    run: async (deps) => {
      const tags = await parameterTags(deps, name);
      if (tags) {
        assertStackOwns(tags, settings, `Parameter ${name}`);
        deps.log(`Parameter ${name} exists; its value is kept`);
        return;
      }
      try {
        await deps.aws.ssm.send(
          new PutParameterCommand({
            Name: name,
            Description: `CSRF secret of the S3 Photo Share stack ${settings.stack}`,
            Type: 'SecureString',
            Value: randomBytes(CSRF_SECRET_BYTES).toString('hex'),
            Tags: stackTags(settings),
          }),
        );
      } catch (error) {
        // Created between the look-up and now: whoever created it, its tags decide.
        if (!isAwsError(error, 'ParameterAlreadyExists')) throw error;
        assertStackOwns(await parameterTags(deps, name), settings, `Parameter ${name}`);
        return;
      }
      deps.log(`Created parameter ${name} (SecureString, a random value that is not shown)`);
    },
  };
}

/** Deletes the parameter when it carries the stack tags; one without them is someone else's and stays. */
export async function deleteCsrfSecret(deps: AwsDeps, settings: StackSettings): Promise<void> {
  const name = stackNames(settings.stack).csrfSecretParameterName;
  const tags = await parameterTags(deps, name);
  if (!tags) {
    deps.log(`Parameter ${name} does not exist`);
    return;
  }
  if (ownershipOf(tags, settings).owner !== 'this-stack') {
    deps.log(`Parameter ${name} is not tagged as this stack's: left as it is`);
    return;
  }
  await deps.aws.ssm.send(new DeleteParameterCommand({ Name: name }));
  deps.log(`Deleted parameter ${name}`);
}

export function csrfSecretDownStep(settings: StackSettings): Step<AwsDeps, StackState> {
  const name = stackNames(settings.stack).csrfSecretParameterName;
  return {
    title: `Delete the parameter ${name}`,
    why: 'Only when it carries the stack tags. Nothing else reads it: the instances that did are gone.',
    cli: [`aws ssm delete-parameter --region ${settings.region} --name ${name}`],
    run: (deps) => deleteCsrfSecret(deps, settings),
  };
}
