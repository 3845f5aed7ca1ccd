// The app's names, in one place: a fork renames itself here (and in package.json), and every page,
// log line, temporary folder and default the app derives from them follows.

/** Shown in every page's header and title, and in the start-up log line. */
export const APP_DISPLAY_NAME = 'S3 Photo Share';

/** For machines: folder names, the dev bucket, the infra stack's default name and tags. Lowercase, digits, hyphens. */
export const APP_SLUG = 's3-photo-share';
