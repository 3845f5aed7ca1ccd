// The photo pages: gallery, upload form, upload, photo, full-size viewer, caption edit, delete. Each handler reads the request, calls the store or
// the upload receiver, and renders; failures are AppErrors, answered by the error handler.
import express, { Router, type Request, type RequestHandler } from 'express';
import type { BrowserSession } from '../http/browser-session.js';
import { rememberNotice, takeNotice } from '../http/notice.js';
import type { RateLimits } from '../http/rate-limits.js';
import {
  acceptCaption,
  CAPTION_FIELD_BYTES,
  captionLength,
  MAX_CAPTION_BYTES,
  MAX_CAPTION_LENGTH,
  MAX_HEADING_CAPTION_LENGTH,
} from './captions.js';
import { groupByDay } from './days.js';
import { listInWords } from '../format.js';
import { CaptionNotReadable, CaptionTooLong, NotPhotoOwner, PhotoNotFound } from './errors.js';
import { firstRowLength } from './gallery-first-row.js';
import { ACCEPTED_IMAGE_TYPES } from './image-type.js';
import { DISPLAY_SIZE, displaySize, type ImageCandidate, LARGE_DISPLAY_SIZE, largeThumbnailSize, srcset } from './image-variants.js';
import { newerPageLink, newestPageLink, olderPageLink, readPagePosition } from './pagination.js';
import { isPhotoId } from './photo-id.js';
import type { PhotoRecord, PhotoStore, PhotoSummary, ViewUrls } from './store.js';
import { thumbnailSize } from './thumbnail-size.js';
import { type BrowserSeal, openUploadResults, UPLOAD_RESULTS_PATH, uploadResultsAddress } from './upload-results.js';
import type { UploadReceiver } from './upload/receiver.js';

export interface PhotoRoutesDeps {
  store: PhotoStore;
  uploads: UploadReceiver;
  session: BrowserSession;
  rateLimits: RateLimits;
  maxUploadBytes: number;
  maxFilesPerUpload: number;
}

export function createPhotoRoutes({ store, uploads, session, rateLimits, maxUploadBytes, maxFilesPerUpload }: PhotoRoutesDeps): Router {
  const router = Router();
  const uploadFormHints = {
    acceptedTypes: ACCEPTED_IMAGE_TYPES,
    acceptedTypesInWords: listInWords(ACCEPTED_IMAGE_TYPES.map((type) => type.label)),
    maxUploadBytes,
    maxFilesPerUpload,
    maxCaptionLength: MAX_CAPTION_LENGTH,
    maxCaptionBytes: MAX_CAPTION_BYTES,
  };
  // The delete form has one field (its CSRF token): anything bigger is not from it.
  const readSmallForm = express.urlencoded({ extended: false, limit: '2kb', parameterLimit: 4 });
  const readCaptionForm = captionFormReader();

  router.get('/', rateLimits.pageViews, async function showGallery(req, res) {
    const position = readPagePosition(req.query);
    const page = await store.listPhotoPage(position.token);
    // A photo page lists from `from` to find the photo newer than it: the photo before this page (the one it
    // starts after), so that even the first photo here finds its newer neighbour, or this page's first photo.
    const from = position.token ?? page.photos[0]?.id;
    const eager = firstRowLength(page.photos);
    res.render('gallery', {
      ...uploadFormHints,
      days: groupByDay(
        page.photos.map((photo, index) => ({
          ...photo,
          href: photoLink(photo.id, from),
          thumbnail: thumbnailSize(photo),
          srcset: offered(thumbnailCandidates(photo)),
          loading: index < eager ? 'eager' : 'lazy',
        })),
      ),
      olderLink: page.nextPageToken ? olderPageLink(position, page.nextPageToken) : undefined,
      newerLink: newerPageLink(position),
      newestLink: newestPageLink(position),
      notice: takeNotice(req, res),
      csrfToken: session.issueFormToken(req, res),
    });
  });

  // The upload form on its own page: where the header's Upload link leads when no script opens the dialog.
  router.get('/upload', rateLimits.pageViews, function showUploadForm(req, res) {
    res.render('upload', { ...uploadFormHints, csrfToken: session.issueFormToken(req, res) });
  });

  router.post('/photos', rateLimits.uploads, async function uploadPhotos(req, res) {
    const { photos, refused } = await uploads.receive(req, res);
    req.log.info({ photoIds: photos.map((photo) => photo.id), refused: refused.length }, 'photos uploaded');
    const json = req.accepts(['html', 'json']) === 'json';
    if (!json && refused.length > 0) {
      // Said on a page of its own, not in a notice (a notice's cookie carries a code, never a name the client
      // chose), at an address that carries the results: reloading it shows them again and stores nothing.
      res.redirect(303, uploadResultsAddress(sealFor(req), photos, refused));
      return;
    }
    // One photo opens its page, several the gallery; either says what was uploaded (once).
    rememberNotice(req, res, { kind: 'photos-uploaded', count: photos.length });
    if (json) {
      res.status(201).json({
        photos: photos.map(({ id, filename, position }) => ({ id, url: `/photos/${id}`, file: filename, position })),
        refused,
      });
    } else {
      res.redirect(303, photos.length === 1 ? `/photos/${photos[0]!.id}` : '/');
    }
  });

  // The results of an upload without JavaScript that refused some files (see uploadPhotos).
  router.get(UPLOAD_RESULTS_PATH, rateLimits.pageViews, function showUploadResults(req, res) {
    res.render('upload-result', openUploadResults(sealFor(req), req.query.results));
  });

  router.get('/photos/:id', rateLimits.pageViews, async function showPhoto(req, res) {
    const photo = await findPhoto(req);
    const from = galleryPosition(req);
    const [urls, { newer, older }] = await Promise.all([store.presignPhotoUrls(photo), store.findNeighbours(photo.id, from)]);
    const isOwner = session.isOwner(req, photo.id, photo.ownerTag);
    res.render('photo', {
      photo,
      urls,
      captionIsHeading: captionLength(photo.caption) <= MAX_HEADING_CAPTION_LENGTH,
      maxCaptionLength: MAX_CAPTION_LENGTH,
      // Shown up to the size of its largest image: the sharper copy lets a large window show more of it.
      display: {
        ...displaySize(photo, urls.largeDisplay ? LARGE_DISPLAY_SIZE : DISPLAY_SIZE),
        srcset: offered(displayCandidates(photo, urls)),
      },
      // The uploader's browser: it gets the caption form and the Delete link.
      isOwner,
      // The caption edit comes back to this page as it was reached, with the same neighbours.
      captionAction: withGalleryPosition(`/photos/${photo.id}/caption`, photo.id, from),
      newerLink: newer && photoLink(newer.id, newer.from),
      olderLink: older && photoLink(older.id, older.from),
      notice: takeNotice(req, res),
      // Only the uploader's browser gets the caption form; it already holds its key, so none is handed out here.
      csrfToken: isOwner ? session.issueFormToken(req, res) : undefined,
    });
  });

  router.post('/photos/:id/caption', rateLimits.captionEdits, readCaptionForm, async function editCaption(req, res) {
    session.requireFormToken(req);
    const field = (req.body as { caption?: unknown } | undefined)?.caption;
    if (typeof field !== 'string') throw new CaptionNotReadable();
    const caption = acceptCaption(field);
    const photo = await findOwnPhoto(req);
    if (!(await store.replaceCaption(photo.id, caption))) throw new PhotoNotFound();
    req.log.info({ photoId: photo.id }, 'caption edited');
    rememberNotice(req, res, { kind: caption ? 'caption-saved' : 'caption-removed' });
    res.redirect(303, photoLink(photo.id, galleryPosition(req)));
  });

  // The full-size image inside the app, with a link that downloads it under the uploader's file name.
  router.get('/photos/:id/full', rateLimits.pageViews, async function showFullSize(req, res) {
    const photo = await findPhoto(req);
    const [urls, downloadUrl] = await Promise.all([store.presignPhotoUrls(photo), store.presignDownloadUrl(photo)]);
    res.render('full-size', {
      photo,
      fullSizeUrl: urls.fullSize,
      // A photo stored before full-size images were made from pixels has its display image as its full size.
      fullSize: { ...(photo.fullSizeExtension ? photo : displaySize(photo)), extension: photo.fullSizeExtension ?? 'jpg' },
      downloadUrl,
    });
  });

  router.get('/photos/:id/delete', rateLimits.pageViews, async function confirmDelete(req, res) {
    const photo = await findOwnPhoto(req);
    const urls = await store.presignPhotoUrls(photo);
    res.render('delete', { photo, urls, thumbnail: thumbnailSize(photo), csrfToken: session.issueFormToken(req, res) });
  });

  router.post('/photos/:id/delete', rateLimits.deletes, readSmallForm, async function deletePhoto(req, res) {
    session.requireFormToken(req);
    const photo = await findOwnPhoto(req);
    await store.deletePhoto(photo);
    req.log.info({ photoId: photo.id }, 'photo deleted');
    rememberNotice(req, res, { kind: 'photo-deleted' });
    res.redirect(303, '/');
  });

  function sealFor(req: Request): BrowserSeal {
    return {
      seal: (data) => session.sealForBrowser(req, 'upload-results', data),
      open: (token) => session.openForBrowser(req, 'upload-results', token),
    };
  }

  async function findPhoto(req: Request): Promise<PhotoRecord> {
    const id = String(req.params.id);
    const photo = isPhotoId(id) ? await store.findPhoto(id) : undefined;
    if (!photo) throw new PhotoNotFound();
    return photo;
  }

  async function findOwnPhoto(req: Request): Promise<PhotoRecord> {
    const photo = await findPhoto(req);
    if (!session.isOwner(req, photo.id, photo.ownerTag)) throw new NotPhotoOwner();
    return photo;
  }

  return router;
}

/**
 * The caption form: its token and a caption field of up to CAPTION_FIELD_BYTES, each byte percent-encoded
 * (3 bytes each). A larger form holds a caption over the limits, and is told so.
 */
function captionFormReader(): RequestHandler {
  const read = express.urlencoded({ extended: false, limit: CAPTION_FIELD_BYTES * 3 + 1024, parameterLimit: 4 });
  return (req, res, next) =>
    read(req, res, (error?: unknown) =>
      next(
        (error as { type?: unknown } | undefined)?.type === 'entity.too.large'
          ? new CaptionTooLong(MAX_CAPTION_LENGTH, { by: 'field-size' })
          : error,
      ),
    );
}

/** The thumbnail and, when the photo has it, its 2× copy. */
function thumbnailCandidates(photo: PhotoSummary): ImageCandidate[] {
  return [
    { url: photo.thumbnailUrl, width: thumbnailSize(photo).width },
    ...(photo.largeThumbnailUrl ? [{ url: photo.largeThumbnailUrl, width: largeThumbnailSize(photo).width }] : []),
  ];
}

/** The display image and, when the photo has it, its sharper copy. */
function displayCandidates(photo: PhotoRecord, urls: ViewUrls): ImageCandidate[] {
  return [
    { url: urls.display, width: displaySize(photo).width },
    ...(urls.largeDisplay ? [{ url: urls.largeDisplay, width: displaySize(photo, LARGE_DISPLAY_SIZE).width }] : []),
  ];
}

/** A `srcset` when there is a choice; none for one image (a photo stored before sharper copies were made). */
function offered(candidates: ImageCandidate[]): string | undefined {
  return candidates.length > 1 ? srcset(candidates) : undefined;
}

/** A photo page's address; `from` lets that page find the photo newer than it (see store.findNeighbours). */
function photoLink(id: string, from: string | undefined): string {
  return withGalleryPosition(`/photos/${id}`, id, from);
}

/** `address` with `?from=`, unless it says nothing (no position, or the photo itself). */
function withGalleryPosition(address: string, id: string, from: string | undefined): string {
  return from && from !== id ? `${address}?from=${from}` : address;
}

/**
 * The gallery position a photo page was reached from (`?from=`): a photo id, or nothing. Anything else is no link
 * the app wrote, and is dropped rather than carried into a link or a redirect.
 */
function galleryPosition(req: Request): string | undefined {
  const { from } = req.query;
  return typeof from === 'string' && isPhotoId(from) ? from : undefined;
}
