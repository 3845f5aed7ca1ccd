// The photo pages: gallery, upload, photo, delete. Each handler reads the request, calls the store,
// and renders; failures go to the error handler.
import { Router, type Request, type Response } from 'express';
import { HttpError } from '../http/errors.js';
import { captionLength, cleanCaption, MAX_CAPTION_LENGTH } from './captions.js';
import { ACCEPTED_IMAGE_TYPES } from './image-type.js';
import { newerPageLink, olderPageLink, readPagePosition } from './pagination.js';
import { isPhotoId } from './photo-id.js';
import type { PhotoRecord, PhotoStore } from './store.js';
import { receivedFiles, type UploadReceiver } from './upload.js';

export interface PhotoRoutesDeps {
  store: PhotoStore;
  uploads: UploadReceiver;
  maxUploadBytes: number;
  maxFilesPerUpload: number;
}

export function createPhotoRoutes({ store, uploads, maxUploadBytes, maxFilesPerUpload }: PhotoRoutesDeps): Router {
  const router = Router();
  const uploadFormHints = {
    acceptedTypes: ACCEPTED_IMAGE_TYPES,
    maxUploadBytes,
    maxFilesPerUpload,
    maxCaptionLength: MAX_CAPTION_LENGTH,
  };

  router.get('/', async function showGallery(req, res) {
    const position = readPagePosition(req.query);
    const page = await store.listPhotoPage(position.token);
    res.render('gallery', {
      ...uploadFormHints,
      photos: page.photos,
      olderLink: page.nextPageToken ? olderPageLink(position, page.nextPageToken) : undefined,
      newerLink: newerPageLink(position),
      notice: galleryNotice(req),
    });
  });

  router.post('/photos', uploads.receiveForm, async function uploadPhotos(req, res) {
    const files = receivedFiles(req);
    const caption = cleanCaption(req.body?.caption);
    if (captionLength(caption) > MAX_CAPTION_LENGTH) {
      await uploads.discardPhotos(files);
      throw new HttpError(400, 'Caption too long', `The caption has ${captionLength(caption)} characters; the limit is ${MAX_CAPTION_LENGTH}.`, 'Shorten the caption and upload again.');
    }
    if (files.length === 0) {
      throw new HttpError(400, 'No photo chosen', 'The upload had no file in it.', 'Choose one or more images, then press Upload.');
    }
    const photoIds = await uploads.savePhotos(files, caption);
    req.log.info({ photoIds }, 'photos uploaded');
    if (req.accepts(['html', 'json']) === 'json') {
      res.status(201).json({ photos: photoIds.map((id) => ({ id, url: `/photos/${id}` })) });
    } else {
      res.redirect(303, photoIds.length === 1 ? `/photos/${photoIds[0]}` : `/?uploaded=${photoIds.length}`);
    }
  });

  router.get('/photos/:id', async function showPhoto(req, res) {
    const photo = await findPhotoOr404(req);
    res.render('photo', { photo, urls: await store.presignPhotoUrls(photo) });
  });

  router.get('/photos/:id/delete', async function confirmDelete(req, res) {
    const photo = await findPhotoOr404(req);
    res.render('delete', { photo, urls: await store.presignPhotoUrls(photo) });
  });

  router.post('/photos/:id/delete', async function deletePhoto(req, res: Response) {
    const photo = await findPhotoOr404(req);
    await store.deletePhoto(photo.id, photo.originalType);
    req.log.info({ photoId: photo.id }, 'photo deleted');
    res.redirect(303, '/?deleted=1');
  });

  async function findPhotoOr404(req: Request): Promise<PhotoRecord> {
    const id = String(req.params.id);
    const photo = isPhotoId(id) ? await store.findPhoto(id) : undefined;
    if (!photo) throw new HttpError(404, 'Photo not found', 'There is no photo at this address; it may have been deleted.', 'Go back to the gallery.');
    return photo;
  }

  return router;
}

function galleryNotice(req: Request): string | undefined {
  if (req.query.deleted === '1') return 'The photo was deleted.';
  const uploaded = Number(req.query.uploaded);
  if (Number.isInteger(uploaded) && uploaded > 1 && uploaded <= 50) return `${uploaded} photos were uploaded.`;
  return undefined;
}
