// Builds the AWS SDK clients the infra commands use, with no credentials option: the operator's default provider chain decides.
import { EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';

export interface AwsClients {
  s3: S3Client;
  iam: IAMClient;
  ec2: EC2Client;
  ssm: SSMClient;
  sts: STSClient;
}

export function createAwsClients(region: string): AwsClients {
  return {
    s3: new S3Client({ region }),
    // IAM is global, but the SDK still needs a region to pick its endpoint and sign requests.
    iam: new IAMClient({ region }),
    ec2: new EC2Client({ region }),
    ssm: new SSMClient({ region }),
    sts: new STSClient({ region }),
  };
}

/** SDK v3 errors carry the service's error code as their name; this is the one place that compares them. */
export function isAwsError(error: unknown, ...names: string[]): error is Error {
  return error instanceof Error && names.includes(error.name);
}
