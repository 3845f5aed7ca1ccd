// The footer's sentence about keys, true for whichever link of the default chain supplied the
// credentials: "no AWS keys" only where that holds (instance role, container, web identity).
import type { CredentialSource } from '../storage/credentials.js';

const FOOTER_BY_SOURCE: Record<CredentialSource, string> = {
  'instance-metadata': 'This app holds no AWS keys: it uses temporary credentials for its instance role, from instance metadata (IMDS).',
  container: 'This app holds no AWS keys: it uses temporary credentials from the container credentials endpoint.',
  'web-identity': 'This app holds no AWS keys: it uses temporary credentials for a role assumed with a web identity token.',
  sso: 'This app holds no long-term keys: it uses temporary credentials from an IAM Identity Center (SSO) sign-in.',
  environment:
    "This app is using AWS keys from its environment variables (locally, the S3 emulator's); on EC2 it holds none and uses its instance role.",
  'shared-profile': 'This app is using keys from a shared AWS config or credentials file; on EC2 it holds none and uses its instance role.',
  'credential-process': 'This app is using credentials from a credential_process command in the AWS config file.',
};
const NOT_YET_ASKED = "This app's AWS credentials come from the AWS SDK's default chain, which has not been asked yet.";

export function credentialFooter(source: CredentialSource | undefined): string {
  return source ? FOOTER_BY_SOURCE[source] : NOT_YET_ASKED;
}
