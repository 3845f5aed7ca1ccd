// The ACM certificate given with --certificate-arn: read (never created or changed) to check it is issued, and to learn the names it covers.
import { DescribeCertificateCommand } from '@aws-sdk/client-acm';
import { unlessMissing, type AwsDeps } from '../aws-clients.js';
import type { StackSettings } from '../stack.js';
import type { StackState } from '../state.js';
import { required, type Step } from '../step.js';

/** The account an ACM certificate ARN names (arn:aws:acm:REGION:ACCOUNT:certificate/ID). */
export function certificateAccount(certificateArn: string): string | undefined {
  return certificateArn.split(':')[4];
}

export function certificateCheckStep(settings: StackSettings, certificateArn: string): Step<AwsDeps, StackState> {
  const { region } = settings;
  return {
    title: 'Check that the ACM certificate is issued, in this account and region, and read the names it covers',
    why: 'A load balancer can only use an ISSUED certificate of its own account and region. A certificate still pending validation needs its DNS validation record first; checking now stops up before it creates anything.',
    cli: [
      `aws acm describe-certificate --region ${region} --certificate-arn ${certificateArn} --query 'Certificate.[Status,DomainName,SubjectAlternativeNames]'   # Status must be ISSUED`,
    ],
    run: async ({ aws, log }, state) => {
      const accountId = required(state.accountId, 'the account id');
      if (certificateAccount(certificateArn) !== accountId)
        throw new Error(
          `Certificate ${certificateArn} belongs to account ${certificateAccount(certificateArn)}, not ${accountId}: a load balancer can only use a certificate of its own account. Request or import one in ${accountId} (ACM, ${region}).`,
        );
      const found = await unlessMissing(
        aws.acm.send(new DescribeCertificateCommand({ CertificateArn: certificateArn })),
        'ResourceNotFoundException',
      );
      const certificate = found?.Certificate;
      if (!certificate)
        throw new Error(
          `Certificate ${certificateArn} was not found in ${region}. Check --certificate-arn (\`aws acm list-certificates --region ${region}\`).`,
        );
      if (certificate.Status !== 'ISSUED') {
        throw new Error(
          `Certificate ${certificateArn} is ${certificate.Status}, not ISSUED. ` +
            (certificate.Status === 'PENDING_VALIDATION'
              ? 'Create the validation CNAME record ACM shows (`aws acm describe-certificate` → DomainValidationOptions) and wait until it is issued, then run up again.'
              : 'Request a new certificate in ACM, then run up again with its ARN.'),
        );
      }
      const domains = [certificate.DomainName, ...(certificate.SubjectAlternativeNames ?? [])].filter(
        (name, index, all): name is string => name !== undefined && all.indexOf(name) === index,
      );
      state.certificateDomains = domains;
      log(`Certificate ${certificateArn} is issued for ${domains.join(', ')}`);
    },
  };
}

/** The name the DNS record and the app URL use: the first name the certificate covers that is not a wildcard. */
export function siteDomain(domains: readonly string[], certificateArn: string): string {
  const domain = domains.find((name) => !name.startsWith('*.'));
  if (!domain)
    throw new Error(
      `Certificate ${certificateArn} covers only wildcard names (${domains.join(', ')}), so up cannot tell which name the site uses. Add the site's name to the certificate (a new request with it as a subject alternative name).`,
    );
  return domain;
}
