// Renders the policy documents and the user-data script from their template files in infra/.
import { readFileSync } from 'node:fs';

// {{Name}} rather than ${Name}: IAM policy variables already use ${…}, and in user-data.sh ${…} would be shell expansion.
const PLACEHOLDER = /\{\{(\w+)\}\}/g;
// Every value lands inside a JSON string or a single-quoted shell word; this alphabet is safe in both, so no escaping is needed.
// Empty is safe too ('' in the shell, "" in JSON): user-data leaves the load-balanced settings empty on a single instance.
const SAFE_VALUE = /^[A-Za-z0-9._/:-]*$/;

export type PolicyName =
  | 'app-policy'
  | 'trust-policy'
  | 'github-trust-policy'
  | 'bucket-policy'
  | 'operator-policy'
  | 'permissions-boundary';

export interface PolicyDocument {
  Version: string;
  Statement: Record<string, unknown>[];
}

export function renderTemplate(template: string, values: Readonly<Record<string, string | number>>): string {
  return template.replace(PLACEHOLDER, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`Template placeholder {{${name}}} has no value`);
    const text = String(value);
    if (!SAFE_VALUE.test(text)) throw new Error(`Template value for {{${name}}} contains unsafe characters: ${JSON.stringify(text)}`);
    return text;
  });
}

export function readInfraFile(relativePath: string): string {
  return readFileSync(new URL(relativePath, import.meta.url), 'utf8');
}

export function renderPolicy(name: PolicyName, values: Readonly<Record<string, string | number>>): PolicyDocument {
  return JSON.parse(renderTemplate(readInfraFile(`./policies/${name}.json`), values)) as PolicyDocument;
}

export interface UserDataValues {
  bucket: string;
  keyPrefix: string;
  region: string;
  releasePrefix: string;
  logGroup: string;
  port: number;
  /** Load-balanced mode only: the SSM parameter holding the CSRF secret all instances share. */
  csrfSecretParameter?: string;
  /** Proxy hops in front of the app: 1 behind the load balancer, 0 when clients connect directly. */
  trustProxy: number;
}

export function renderUserData(values: UserDataValues): string {
  return renderTemplate(readInfraFile('./user-data.sh'), {
    Bucket: values.bucket,
    Prefix: values.keyPrefix,
    Region: values.region,
    ReleasePrefix: values.releasePrefix,
    LogGroup: values.logGroup,
    Port: values.port,
    CsrfSecretParameter: values.csrfSecretParameter ?? '',
    TrustProxy: values.trustProxy,
  });
}
