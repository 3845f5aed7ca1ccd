// The photo pages: gallery, upload, photo, delete. Each handler reads the request, calls the store,
// and renders; failures go to the error handler.
import express, { Router, type Request } from 'express';
import { HttpError } from '../http/errors.js';
import type { BrowserSession } from '../http/browser-session.js';
import { rememberNotice, takeNotice, uploadNoticeFromQuery } from '../http/notice.js';
import type { createRateLimits } from '../http/rate-limits.js';
import { captionLength, cleanCaption, MAX_CAPTION_LENGTH } from './captions.js';
import { ACCEPTED_IMAGE_TYPES } from './image-type.js';
import { newerPageLink, olderPageLink, readPagePosition } from './pagination.js';
import { isPhotoId } from './photo-id.js';
import type { PhotoRecord, PhotoStore } from './store.js';
import { receivedFiles, type UploadReceiver } from './upload.js';

export interface PhotoRoutesDeps {
  store: PhotoStore;
  uploads: UploadReceiver;
  session: BrowserSession;
  rateLimits: ReturnType<typeof createRateLimits>;
  maxUploadBytes: number;
  maxFilesPerUpload: number;
}

export function createPhotoRoutes({ store, uploads, session, rateLimits, maxUploadBytes, maxFilesPerUpload }: PhotoRoutesDeps): Router {
  const router = Router();
  const uploadFormHints = {
    acceptedTypes: ACCEPTED_IMAGE_TYPES,
    maxUploadBytes,
    maxFilesPerUpload,
    maxCaptionLength: MAX_CAPTION_LENGTH,
  };
  // The delete form has one field (its CSRF token): anything bigger is not from it.
  const readSmallForm = express.urlencoded({ extended: false, limit: '2kb', parameterLimit: 4 });

  router.get('/', async function showGallery(req, res) {
    // The upload form's redirect names the count (`/?uploaded=8`): shown once, from a clean URL.
    const uploadNotice = uploadNoticeFromQuery(req.query);
    if (uploadNotice) {
      rememberNotice(req, res, uploadNotice);
      return res.redirect(303, '/');
    }
    const position = readPagePosition(req.query);
    const page = await store.listPhotoPage(position.token);
    const firstOnPage = page.photos[0]?.id;
    res.render('gallery', {
      ...uploadFormHints,
      photos: page.photos.map((photo) => ({ ...photo, href: photoLink(photo.id, firstOnPage) })),
      olderLink: page.nextPageToken ? olderPageLink(position, page.nextPageToken) : undefined,
      newerLink: newerPageLink(position),
      notice: takeNotice(req, res),
    });
  });

  router.post('/photos', rateLimits.uploads, uploads.receiveForm, async function uploadPhotos(req, res) {
    const files = receivedFiles(req);
    const caption = cleanCaption(req.body?.caption);
    try {
      if (!req.is('multipart/form-data')) {
        throw new HttpError(400, 'Not an upload form', 'Photos must be sent as multipart/form-data. Nothing was stored.', 'Use the upload form on the gallery page (or curl -F).');
      }
      session.requireCsrfToken(req);
      if (captionLength(caption) > MAX_CAPTION_LENGTH) {
        throw new HttpError(400, 'Caption too long', `The caption has ${captionLength(caption)} characters; the limit is ${MAX_CAPTION_LENGTH}.`, 'Shorten the caption and upload again.');
      }
      if (files.length === 0) {
        throw new HttpError(400, 'No photo chosen', 'The upload had no file in it.', 'Choose one or more images, then press Upload.');
      }
    } catch (error) {
      await uploads.discardPhotos(files);
      throw error;
    }
    const photoIds = await uploads.savePhotos(files, caption, session.uploaderHash(req));
    req.log.info({ photoIds }, 'photos uploaded');
    if (req.accepts(['html', 'json']) === 'json') {
      res.status(201).json({ photos: photoIds.map((id) => ({ id, url: `/photos/${id}` })) });
    } else {
      res.redirect(303, photoIds.length === 1 ? `/photos/${photoIds[0]}` : `/?uploaded=${photoIds.length}`);
    }
  });

  router.get('/photos/:id', async function showPhoto(req, res) {
    const photo = await findPhotoOr404(req);
    const from = typeof req.query.from === 'string' ? req.query.from : undefined;
    const [urls, { newer, older }] = await Promise.all([store.presignPhotoUrls(photo), store.findNeighbours(photo.id, from)]);
    res.render('photo', {
      photo,
      urls,
      canDelete: session.isUploader(req, photo.uploaderHash),
      newerLink: newer && photoLink(newer.id, newer.from),
      olderLink: older && photoLink(older.id, older.from),
    });
  });

  router.get('/photos/:id/delete', async function confirmDelete(req, res) {
    const photo = await findDeletablePhoto(req);
    res.render('delete', { photo, urls: await store.presignPhotoUrls(photo) });
  });

  router.post('/photos/:id/delete', rateLimits.deletes, readSmallForm, async function deletePhoto(req, res) {
    session.requireCsrfToken(req);
    const photo = await findDeletablePhoto(req);
    await store.deletePhoto(photo.id, photo.originalType);
    req.log.info({ photoId: photo.id }, 'photo deleted');
    rememberNotice(req, res, { kind: 'photo-deleted' });
    res.redirect(303, '/');
  });

  async function findPhotoOr404(req: Request): Promise<PhotoRecord> {
    const id = String(req.params.id);
    const photo = isPhotoId(id) ? await store.findPhoto(id) : undefined;
    if (!photo) throw new HttpError(404, 'Photo not found', 'There is no photo at this address; it may have been deleted.', 'Go back to the gallery.');
    return photo;
  }

  async function findDeletablePhoto(req: Request): Promise<PhotoRecord> {
    const photo = await findPhotoOr404(req);
    if (!session.isUploader(req, photo.uploaderHash)) {
      throw new HttpError(403, 'Not your photo', 'Only the browser that uploaded this photo can delete it.', 'Nothing was changed. Go back to the gallery.');
    }
    return photo;
  }

  return router;
}

/** A photo page's address; `from` lets that page find the photo newer than it (see store.findNeighbours). */
function photoLink(id: string, from: string | undefined): string {
  return from && from !== id ? `/photos/${id}?from=${from}` : `/photos/${id}`;
}
