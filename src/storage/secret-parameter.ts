// Reads a secret the app needs at start (the CSRF secret shared by several instances) from SSM Parameter
// Store, once, with the same default credential chain as S3: on EC2, the instance role. Nothing is cached on
// disk and the value never reaches the log. A parameter that is missing or not readable stops the start.
import { GetParameterCommand, ParameterNotFound, SSMClient, SSMServiceException } from '@aws-sdk/client-ssm';

/** The parameter cannot be used: the operator must create it or grant the role `ssm:GetParameter` on it. */
export class SecretParameterUnusable extends Error {
  constructor(
    readonly parameterName: string,
    reason: string,
    /** A configuration problem (exit 78, no restart) rather than a passing outage (exit 1, systemd retries). */
    readonly isConfiguration: boolean,
  ) {
    super(`Cannot read the SSM parameter ${parameterName}: ${reason}`);
    this.name = 'SecretParameterUnusable';
  }
}

/** Access-denied errors SSM answers with: the role is not allowed to read the parameter or decrypt it. */
const NOT_ALLOWED = new Set(['AccessDeniedException', 'UnrecognizedClientException', 'InvalidKeyId']);
/** A secret that signs tokens must be long enough to guess at no better than chance. */
const MIN_SECRET_LENGTH = 32;

export interface SecretParameterOptions {
  region: string;
  timeoutMs: number;
  /** For tests; the app passes none and gets a client on the default chain. */
  client?: Pick<SSMClient, 'send'>;
}

export async function readSecretParameter(parameterName: string, { region, timeoutMs, client }: SecretParameterOptions): Promise<string> {
  const ownClient = client ? undefined : new SSMClient({ region });
  const ssm = client ?? ownClient!;
  try {
    const answer = await ssm.send(new GetParameterCommand({ Name: parameterName, WithDecryption: true }), {
      abortSignal: AbortSignal.timeout(timeoutMs),
    });
    const value = answer.Parameter?.Value ?? '';
    if (value.length < MIN_SECRET_LENGTH) {
      throw new SecretParameterUnusable(
        parameterName,
        `its value is shorter than ${MIN_SECRET_LENGTH} characters; store a long random value (for example \`openssl rand -hex 32\`).`,
        true,
      );
    }
    return value;
  } catch (error) {
    if (error instanceof SecretParameterUnusable) throw error;
    if (error instanceof ParameterNotFound)
      throw new SecretParameterUnusable(
        parameterName,
        'it does not exist in this region; create it as a SecureString (npm run infra:up does).',
        true,
      );
    if (error instanceof SSMServiceException && NOT_ALLOWED.has(error.name)) {
      throw new SecretParameterUnusable(
        parameterName,
        `${error.name}: the app's role may not read or decrypt it; allow ssm:GetParameter on this parameter.`,
        true,
      );
    }
    if (error instanceof Error && error.name === 'CredentialsProviderError') {
      throw new SecretParameterUnusable(parameterName, 'no AWS credentials (on EC2: is the instance profile attached?).', true);
    }
    const reason = error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 200) : String(error);
    throw new SecretParameterUnusable(parameterName, `${reason} (a passing fault: the start will be retried).`, false);
  } finally {
    ownClient?.destroy();
  }
}
