// The first step of every command: who is calling, in which account; fails early when the default chain finds no credentials.
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { AwsDeps } from './aws-clients.js';
import type { StackState } from './state.js';
import { required, type Step } from './step.js';

export function identityStep(): Step<AwsDeps, StackState> {
  return {
    title: 'Check which AWS identity the default credential chain resolves to',
    why: 'Every later call runs as this identity; no access key is passed anywhere, the SDK finds credentials the way the CLI does. The account id goes into the log-group ARN of the role policy.',
    cli: ['ACCOUNT_ID=$(aws sts get-caller-identity --query Account --output text)'],
    run: async ({ aws, log }, state) => {
      const identity = await aws.sts.send(new GetCallerIdentityCommand({}));
      state.accountId = required(identity.Account, 'the account id');
      log(`Operating as ${identity.Arn} in account ${identity.Account}`);
    },
  };
}
