// Everything done to the bucket: create it tagged (or adopt one untouched), make it private, and on down empty and delete it only if this stack created it.
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetBucketLocationCommand,
  GetBucketTaggingCommand,
  ListObjectVersionsCommand,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutPublicAccessBlockCommand,
  type BucketLocationConstraint,
  type ObjectIdentifier,
  type S3Client,
} from '@aws-sdk/client-s3';
import { isAwsError, type AwsDeps } from '../aws-clients.js';
import { assertStackOwns, ownershipOf, stackTags, WrongRegionError, type BucketSettings, type Tag, type UpSettings } from '../stack.js';
import type { StackState } from '../state.js';
import type { Step } from '../step.js';
import { renderPolicy } from '../templates.js';

export function bucketPolicy(bucket: string) {
  return renderPolicy('bucket-policy', { Bucket: bucket });
}

/** The bucket's tags, [] when it has none, or 'missing' when no such bucket exists. */
export async function readBucketTags(s3: S3Client, { bucket, region }: BucketSettings): Promise<Tag[] | 'missing'> {
  try {
    const { TagSet = [] } = await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }));
    return TagSet as Tag[];
  } catch (error) {
    if (isAwsError(error, 'NoSuchBucket')) return 'missing';
    if (isAwsError(error, 'NoSuchTagSet')) return [];
    if (isAwsError(error, 'PermanentRedirect'))
      throw new Error(
        `Bucket ${bucket} exists in another region than ${region}. Run with the bucket's region as --region, or choose another --bucket.`,
      );
    if (isAwsError(error, 'AccessDenied'))
      throw new Error(
        `Bucket ${bucket} cannot be read: it belongs to another AWS account, or your identity lacks s3:GetBucketTagging on it. Choose another --bucket.`,
      );
    throw error;
  }
}

/** S3 names eu-west-1 "EU" and us-east-1 "" in GetBucketLocation, for historical reasons. */
export function regionOfLocation(locationConstraint: string | undefined): string {
  if (!locationConstraint) return 'us-east-1';
  return locationConstraint === 'EU' ? 'eu-west-1' : locationConstraint;
}

export function bucketUpSteps(settings: UpSettings): Step<AwsDeps, StackState>[] {
  const { bucket, region } = settings;
  const tags = stackTags(settings);
  // us-east-1 is the one region where CreateBucket must not name a location.
  const configurationCli = `${region === 'us-east-1' ? '' : `LocationConstraint=${region},`}Tags=[${tags.map((tag) => `{Key=${tag.Key},Value=${tag.Value}}`).join(',')}]`;

  if (settings.adoptBucket) {
    return [
      {
        title: `Adopt the existing bucket ${bucket}: check it is yours and in ${region}, change nothing on it`,
        why: `--adopt-bucket: up writes only the release objects under releases/${settings.stack}/ and grants the role access to ${settings.keyPrefix}; the bucket's public-access block, ownership, encryption, policy, lifecycle and tags stay as they are, and down never empties or deletes it.`,
        cli: [
          `aws s3api get-bucket-location --bucket ${bucket}`,
          `aws s3api get-bucket-tagging --bucket ${bucket}   # NoSuchTagSet is fine`,
        ],
        run: async ({ aws, log }, state) => {
          const existing = await readBucketTags(aws.s3, settings);
          if (existing === 'missing')
            throw new Error(`--adopt-bucket: bucket ${bucket} does not exist. Leave out --adopt-bucket to let up create it.`);
          const ownership = ownershipOf(existing, settings);
          if (ownership.owner === 'this-stack-elsewhere') throw new WrongRegionError(settings, ownership.region, `bucket ${bucket}`);
          const { LocationConstraint } = await aws.s3.send(new GetBucketLocationCommand({ Bucket: bucket }));
          const bucketRegion = regionOfLocation(LocationConstraint);
          if (bucketRegion !== region)
            throw new Error(`Bucket ${bucket} is in ${bucketRegion}, not ${region}: run with --region ${bucketRegion}.`);
          state.bucketAdopted = ownership.owner === 'other';
          log(
            state.bucketAdopted
              ? `Adopting s3://${bucket} as it is: no setting of the bucket is changed`
              : `s3://${bucket} was created by this stack; nothing on it is changed`,
          );
        },
      },
    ];
  }

  return [
    {
      title: `Create the bucket ${bucket} in ${region} with the stack tags, or check that this stack created it`,
      why: 'Photos and the release live here. The tags are set by CreateBucket itself, so only a bucket this stack created carries them; an existing bucket without them is refused (use --adopt-bucket to use it unchanged). BucketOwnerEnforced turns ACLs off.',
      cli: [
        `aws s3api get-bucket-tagging --bucket ${bucket}   # NoSuchBucket: create it; tags app, stack, stack-region: this stack's; anything else: refused`,
        `aws s3api create-bucket --bucket ${bucket} --region ${region} --create-bucket-configuration '${configurationCli}' --object-ownership BucketOwnerEnforced`,
      ],
      run: async ({ aws, log }) => {
        // Read before create: in us-east-1 CreateBucket answers 200 for a bucket you already own, which would hide someone else's bucket.
        const existing = await readBucketTags(aws.s3, settings);
        if (existing !== 'missing') {
          if (ownershipOf(existing, settings).owner === 'other') {
            throw new Error(
              `Bucket ${bucket} already exists and was not created by this stack (no app/stack/stack-region tags). Up leaves it alone: choose another --bucket, or pass --adopt-bucket to use it without changing its settings.`,
            );
          }
          assertStackOwns(existing, settings, `Bucket ${bucket}`);
          log(`s3://${bucket} was created by this stack; its settings are brought in line below`);
          return;
        }
        try {
          await aws.s3.send(
            new CreateBucketCommand({
              Bucket: bucket,
              ObjectOwnership: 'BucketOwnerEnforced',
              CreateBucketConfiguration: {
                ...(region === 'us-east-1' ? {} : { LocationConstraint: region as BucketLocationConstraint }),
                Tags: tags,
              },
            }),
          );
        } catch (error) {
          if (isAwsError(error, 'BucketAlreadyExists'))
            throw new Error(`Bucket name ${bucket} belongs to another AWS account (bucket names are global). Choose another --bucket.`);
          throw error;
        }
        log(`Created s3://${bucket}, tagged ${tags.map((tag) => `${tag.Key}=${tag.Value}`).join(', ')}`);
      },
    },
    {
      title: 'Make the bucket private: Block Public Access (all four), ACLs off, default encryption',
      why: 'No policy or ACL can make an object public, even by mistake; objects are encrypted at rest with S3-managed keys (SSE-S3). Only ever applied to a bucket this stack created.',
      cli: [
        `aws s3api put-public-access-block --bucket ${bucket} --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true`,
        `aws s3api put-bucket-ownership-controls --bucket ${bucket} --ownership-controls 'Rules=[{ObjectOwnership=BucketOwnerEnforced}]'`,
        `aws s3api put-bucket-encryption --bucket ${bucket} --server-side-encryption-configuration '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}'`,
      ],
      run: async ({ aws, log }) => {
        await aws.s3.send(
          new PutPublicAccessBlockCommand({
            Bucket: bucket,
            PublicAccessBlockConfiguration: {
              BlockPublicAcls: true,
              IgnorePublicAcls: true,
              BlockPublicPolicy: true,
              RestrictPublicBuckets: true,
            },
          }),
        );
        await aws.s3.send(
          new PutBucketOwnershipControlsCommand({
            Bucket: bucket,
            OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
          }),
        );
        await aws.s3.send(
          new PutBucketEncryptionCommand({
            Bucket: bucket,
            ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
          }),
        );
        log('Block Public Access on, ACLs disabled, SSE-S3 default encryption on');
      },
    },
    {
      title: 'Deny every request that does not use TLS (bucket policy)',
      why: 'A Deny on aws:SecureTransport=false beats any Allow, so nothing reaches the bucket over plain HTTP.',
      cli: [`aws s3api put-bucket-policy --bucket ${bucket} --policy file://bucket-policy.json`],
      documents: { 'bucket-policy.json': bucketPolicy(bucket) },
      run: async ({ aws, log }) => {
        await aws.s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(bucketPolicy(bucket)) }));
        log('Bucket policy set: requests without TLS are denied');
      },
    },
    {
      title: 'Abort incomplete multipart uploads after one day (lifecycle rule)',
      why: 'Parts of uploads that never completed are billed but invisible in listings; this rule removes them.',
      cli: [
        `aws s3api put-bucket-lifecycle-configuration --bucket ${bucket} --lifecycle-configuration '{"Rules":[{"ID":"abort-incomplete-multipart-uploads","Status":"Enabled","Filter":{},"AbortIncompleteMultipartUpload":{"DaysAfterInitiation":1}}]}'`,
      ],
      run: async ({ aws, log }) => {
        await aws.s3.send(
          new PutBucketLifecycleConfigurationCommand({
            Bucket: bucket,
            LifecycleConfiguration: {
              Rules: [
                {
                  ID: 'abort-incomplete-multipart-uploads',
                  Status: 'Enabled',
                  Filter: {},
                  AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
                },
              ],
            },
          }),
        );
        log('Lifecycle rule set: incomplete multipart uploads are aborted after 1 day');
      },
    },
  ];
}

/** Down with --delete-bucket: checked before anything is removed, so a refusal leaves the whole stack as it was. */
export function bucketDeletionCheckStep(settings: BucketSettings): Step<AwsDeps, StackState> {
  return {
    title: `Check that this stack created the bucket ${settings.bucket} before anything is removed (--delete-bucket)`,
    why: 'Only a bucket carrying this stack’s tags, which CreateBucket set, is ever emptied or deleted; an adopted or foreign bucket is refused here, before any other change.',
    cli: [`aws s3api get-bucket-tagging --bucket ${settings.bucket}`],
    run: async ({ aws, log }) => {
      const tags = await readBucketTags(aws.s3, settings);
      if (tags === 'missing') {
        log(`Bucket ${settings.bucket} does not exist`);
        return;
      }
      assertBucketDeletable(tags, settings);
      log(`Bucket ${settings.bucket} was created by this stack`);
    },
  };
}

function assertBucketDeletable(tags: Tag[], settings: BucketSettings): void {
  if (ownershipOf(tags, settings).owner === 'other') {
    throw new Error(
      `Bucket ${settings.bucket} was not created by this stack (adopted, or someone else's): down never empties or deletes it. Leave out --delete-bucket; nothing was removed.`,
    );
  }
  assertStackOwns(tags, settings, `Bucket ${settings.bucket}`);
}

export function bucketDeletionStep(settings: BucketSettings): Step<AwsDeps, StackState> {
  const { bucket, region } = settings;
  return {
    title: `Empty and delete the bucket ${bucket} (--delete-bucket)`,
    why: 'S3 only deletes an empty bucket. Every object version goes, photos included; the bucket must carry this stack’s tags.',
    cli: [
      `aws s3api get-bucket-tagging --bucket ${bucket}`,
      `aws s3api list-object-versions --bucket ${bucket}   # every version and delete marker, then:`,
      `aws s3api delete-objects --bucket ${bucket} --delete file://versions.json   # {"Objects":[{"Key":…,"VersionId":…}]}, 1,000 at a time`,
      `aws s3api delete-bucket --bucket ${bucket} --region ${region}`,
    ],
    run: async ({ aws, log }) => {
      const tags = await readBucketTags(aws.s3, settings);
      if (tags === 'missing') {
        log(`Bucket ${bucket} is already gone`);
        return;
      }
      assertBucketDeletable(tags, settings);
      const removed = await deleteAllVersions(aws.s3, bucket, undefined);
      log(`Removed ${removed} object version(s)`);
      await aws.s3.send(new DeleteBucketCommand({ Bucket: bucket }));
      log(`Deleted bucket ${bucket}`);
    },
  };
}

/** Deletes every version and delete marker under the prefix (the whole bucket when undefined); returns how many went. */
export async function deleteAllVersions(s3: S3Client, bucket: string, prefix: string | undefined): Promise<number> {
  let removed = 0;
  for (;;) {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix }));
    const objects: ObjectIdentifier[] = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((entry) => ({
      Key: entry.Key,
      VersionId: entry.VersionId,
    }));
    if (objects.length === 0) return removed;
    const { Errors = [] } = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }));
    if (Errors.length > 0)
      throw new Error(`Could not delete ${Errors.length} object(s) from ${bucket}, first: ${Errors[0]?.Key} (${Errors[0]?.Code})`);
    removed += objects.length;
  }
}
