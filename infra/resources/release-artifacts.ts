// The release objects in the bucket: uploaded by up under releases/<stack>/<release-id>/, removed by down (bucket and photos stay).
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { isAwsError, type AwsDeps } from '../aws-clients.js';
import { RELEASE_LOCKFILE, RELEASE_TARBALL, releaseObjectPrefix } from '../release.js';
import { stackNames, type BucketSettings } from '../stack.js';
import type { StackState, UpDeps } from '../state.js';
import type { Step } from '../step.js';
import { deleteAllVersions } from './bucket.js';

export function releaseUploadStep({ bucket, stack }: BucketSettings): Step<UpDeps, StackState> {
  const { releasePrefix } = stackNames(stack);
  return {
    title: `Build the release and upload it to s3://${bucket}/${releasePrefix}<release-id>/`,
    why: 'The instance downloads it with its own role at boot, so no code and no credential travels in user-data. <release-id> is the version plus a content hash, so a changed build gets a new instance; package-lock.json goes beside the tarball because npm pack leaves it out and npm ci needs it.',
    cli: [
      'npm run build && npm pack --pack-destination /tmp',
      `aws s3 cp /tmp/s3-photo-share-<version>.tgz s3://${bucket}/${releasePrefix}<release-id>/${RELEASE_TARBALL}`,
      `aws s3 cp package-lock.json s3://${bucket}/${releasePrefix}<release-id>/${RELEASE_LOCKFILE}`,
    ],
    run: async ({ aws, log, buildRelease }, state) => {
      log('Running npm run build and npm pack');
      const release = await buildRelease();
      const prefix = releaseObjectPrefix(releasePrefix, release.id);
      await aws.s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: `${prefix}${RELEASE_TARBALL}`,
          Body: release.tarball,
          ContentType: 'application/gzip',
        }),
      );
      await aws.s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: `${prefix}${RELEASE_LOCKFILE}`,
          Body: release.packageLock,
          ContentType: 'application/json',
        }),
      );
      state.releaseId = release.id;
      log(`Uploaded release ${release.id} to s3://${bucket}/${prefix}`);
    },
  };
}

export function releaseDeletionStep({ bucket, stack }: BucketSettings): Step<AwsDeps, StackState> {
  const { releasePrefix } = stackNames(stack);
  return {
    title: `Delete this stack's release artifacts under s3://${bucket}/${releasePrefix}; keep the bucket and its photos`,
    why: 'Up uploaded these; everything else in the bucket is yours. Pass --delete-bucket to remove a bucket this stack created.',
    cli: [`aws s3 rm s3://${bucket}/${releasePrefix} --recursive`],
    run: async ({ aws, log }) => {
      try {
        const removed = await deleteAllVersions(aws.s3, bucket, releasePrefix);
        log(`Removed ${removed} release object version(s); s3://${bucket} and its photos are kept`);
      } catch (error) {
        if (!isAwsError(error, 'NoSuchBucket')) throw error;
        log(`Bucket ${bucket} does not exist; no release to remove`);
      }
    },
  };
}
