// GitHub's OIDC identity provider in IAM: created when missing, reused untouched when present, never deleted (it is account-wide).
import { CreateOpenIDConnectProviderCommand, GetOpenIDConnectProviderCommand } from '@aws-sdk/client-iam';
import { unlessMissing, type AwsDeps } from '../aws-clients.js';
import type { StackState } from '../state.js';
import { required, type Step } from '../step.js';

export const GITHUB_OIDC_HOST = 'token.actions.githubusercontent.com';
/** The audience `aws-actions/configure-aws-credentials` asks GitHub to put in the token. */
export const GITHUB_OIDC_AUDIENCE = 'sts.amazonaws.com';

export function oidcProviderArn(accountId: string): string {
  return `arn:aws:iam::${accountId}:oidc-provider/${GITHUB_OIDC_HOST}`;
}

export function oidcProviderUpStep(): Step<AwsDeps, StackState> {
  return {
    title: `Create the GitHub OIDC identity provider ${GITHUB_OIDC_HOST}, unless the account has it`,
    why: `IAM trusts tokens from an issuer only through an identity provider, and an account holds one per issuer: other repositories and tools may share it, so an existing one is used as it is (it must list the audience ${GITHUB_OIDC_AUDIENCE}) and no command deletes it. No thumbprint: IAM verifies GitHub's certificate through its own trusted CAs.`,
    cli: [
      `aws iam get-open-id-connect-provider --open-id-connect-provider-arn arn:aws:iam::$ACCOUNT_ID:oidc-provider/${GITHUB_OIDC_HOST}   # exists? then skip the next command`,
      `aws iam create-open-id-connect-provider --url https://${GITHUB_OIDC_HOST} --client-id-list ${GITHUB_OIDC_AUDIENCE}`,
    ],
    run: async ({ aws, log }, state) => {
      const arn = oidcProviderArn(required(state.accountId, 'the account id'));
      const found = await unlessMissing(
        aws.iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn })),
        'NoSuchEntityException',
      );
      if (found) {
        if (!found.ClientIDList?.includes(GITHUB_OIDC_AUDIENCE)) {
          throw new Error(
            `The identity provider ${arn} exists but does not list the audience ${GITHUB_OIDC_AUDIENCE}, so STS would refuse GitHub's tokens. It is account-wide and may serve others, so this tool does not change it: add the audience yourself (aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn ${arn} --client-id ${GITHUB_OIDC_AUDIENCE}) and run the command again.`,
          );
        }
        log(`Reusing identity provider ${arn}, unchanged`);
        return;
      }
      await aws.iam.send(
        new CreateOpenIDConnectProviderCommand({ Url: `https://${GITHUB_OIDC_HOST}`, ClientIDList: [GITHUB_OIDC_AUDIENCE] }),
      );
      log(`Created identity provider ${arn}`);
    },
  };
}

/** Delete leaves the provider: the plan says so, and the step only says it in the log. */
export function oidcProviderKeptStep(): Step<AwsDeps, StackState> {
  return {
    title: `Keep the GitHub OIDC identity provider ${GITHUB_OIDC_HOST}`,
    why: 'It is account-wide: other repositories, stacks or tools may trust GitHub through it, and this tool cannot tell whether it created it. Delete it yourself when nothing uses it.',
    cli: [
      `# not deleted; when nothing else uses it: aws iam delete-open-id-connect-provider --open-id-connect-provider-arn arn:aws:iam::$ACCOUNT_ID:oidc-provider/${GITHUB_OIDC_HOST}`,
    ],
    run: async ({ log }) => log(`Identity provider ${GITHUB_OIDC_HOST} left as it is`),
  };
}
