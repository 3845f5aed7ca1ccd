// "Which instance answered, and which role is it using?", as instance metadata answers it: the instance id,
// its availability zone (behind a load balancer, refreshing /about shows each instance in turn), the role
// name and the instance profile's ARN, read from IMDS with an IMDSv2 session token. Asked only for /about, and only when the
// credentials came from IMDS, so elsewhere nothing waits on an address that answers nothing.

/** Where IMDS answers on every EC2 instance, unless AWS_EC2_METADATA_SERVICE_ENDPOINT says otherwise. */
const DEFAULT_IMDS_ENDPOINT = 'http://169.254.169.254';
/** IMDS answers in milliseconds on an instance; /about should not wait long for an absent one. */
const IMDS_TIMEOUT_MS = 1_000;
/** Each look-up takes its own token, used at once: the shortest lifetime IMDS allows would do. */
const TOKEN_TTL_SECONDS = '60';

export type InstanceProfile =
  | { instanceId: string; availabilityZone: string; roleName: string; instanceProfileArn: string }
  | { unavailable: string };

export function createInstanceProfileLookup(imdsEndpoint: string | undefined) {
  const base = (imdsEndpoint ?? DEFAULT_IMDS_ENDPOINT).replace(/\/+$/, '');

  async function askImds(path: string, init: RequestInit = {}): Promise<string> {
    const response = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(IMDS_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`IMDS answered ${response.status} to ${path}`);
    return response.text();
  }

  return async function lookUpInstanceProfile(): Promise<InstanceProfile> {
    try {
      const token = await askImds('/latest/api/token', {
        method: 'PUT',
        headers: { 'x-aws-ec2-metadata-token-ttl-seconds': TOKEN_TTL_SECONDS },
      });
      const headers = { 'x-aws-ec2-metadata-token': token };
      const [instanceId, availabilityZone, roleListing, info] = await Promise.all([
        askImds('/latest/meta-data/instance-id', { headers }),
        askImds('/latest/meta-data/placement/availability-zone', { headers }),
        askImds('/latest/meta-data/iam/security-credentials/', { headers }),
        askImds('/latest/meta-data/iam/info', { headers }),
      ]);
      const { InstanceProfileArn } = JSON.parse(info) as { InstanceProfileArn?: unknown };
      const roleName = roleListing.split('\n')[0]?.trim();
      if (!roleName || typeof InstanceProfileArn !== 'string') throw new Error('IMDS named no role or instance profile');
      return { instanceId: instanceId.trim(), availabilityZone: availabilityZone.trim(), roleName, instanceProfileArn: InstanceProfileArn };
    } catch (error) {
      return { unavailable: `instance metadata did not say (${(error as Error).message})` };
    }
  };
}
