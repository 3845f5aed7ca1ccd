// The operator's own permissions for up, down and logs, rendered for one stack: scoped by names and tags so it cannot touch what is not the stack's.
import { stackNames, type BucketSettings } from './stack.js';
import { renderPolicy } from './templates.js';

export function operatorPolicy(settings: BucketSettings, accountId: string) {
  return renderPolicy('operator-policy', {
    Bucket: settings.bucket,
    Stack: settings.stack,
    Region: settings.region,
    AccountId: accountId,
    LogGroup: stackNames(settings.stack).logGroupName,
  });
}
