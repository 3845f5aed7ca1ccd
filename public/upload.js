// The upload form, with JavaScript on: the header's Upload link opens it in a dialog on the gallery; files
// can be dropped anywhere on the page, pasted or chosen (and added to), each shows a preview, its own caption
// field and its own progress, and errors show in an alert. The form is then sent with XMLHttpRequest, whose
// upload progress events fetch() lacks, in batches of the server's MAX_FILES_PER_UPLOAD files with one progress
// for all. A file the server refuses is named with its reason; the rest are stored. Whatever was not stored
// stays chosen, with its caption, to send again. Without JavaScript the link leads to /upload, and the same
// form posts normally.
(function () {
  'use strict';
  var form = document.getElementById('upload-form');
  if (!form || !window.XMLHttpRequest || !window.FormData || !window.DataTransfer || !window.matchUploadAnswer) return;
  var input = document.getElementById('photos');
  /** The gallery's upload dialog; absent on /upload, where the form is the page. */
  var dialog = document.getElementById('upload-dialog');
  var previews = document.getElementById('upload-previews');
  var alertBox = document.getElementById('upload-alert');
  var status = document.getElementById('upload-status');
  var button = form.querySelector('button[type=submit]');
  var acceptedTypes = input.accept.split(',');
  /** Files per request (the server's MAX_FILES_PER_UPLOAD): more are sent in several. */
  var maxFiles = Number(input.getAttribute('data-max-files'));
  var maxBytes = Number(input.getAttribute('data-max-bytes'));
  var caption = form.elements.caption;
  var maxCaption = Number(caption.getAttribute('data-max-length'));
  var maxCaptionBytes = Number(caption.getAttribute('data-max-bytes'));
  /** Characters as the server counts them: grapheme clusters (an emoji family is one), code points without Intl.Segmenter. */
  var graphemes = window.Intl && Intl.Segmenter ? new Intl.Segmenter(undefined, { granularity: 'grapheme' }) : undefined;
  var utf8 = new TextEncoder();
  /** The files to send, in order, each with its preview (see addPreview). */
  var chosen = [];
  var previewCount = 0;
  var sending = false;

  form.classList.add('enhanced');

  countCaption(caption);
  var totalProgress = document.createElement('progress');
  totalProgress.max = 100;
  totalProgress.value = 0;
  totalProgress.hidden = true;
  totalProgress.setAttribute('aria-label', 'Upload of all chosen photos');
  status.before(totalProgress);

  input.addEventListener('change', function () {
    // The input holds only the last choice; the form sends every file chosen, dropped or pasted so far.
    addFiles(input.files);
  });

  if (dialog && typeof dialog.showModal === 'function') {
    document.querySelectorAll('a[data-opens="upload-dialog"]').forEach(function (link) {
      link.setAttribute('aria-haspopup', 'dialog');
      link.addEventListener('click', function (event) {
        event.preventDefault();
        openDialog();
      });
    });
  } else {
    dialog = null;
  }

  // Files dragged over any part of the page may be dropped there: the page marks itself as a drop target.
  document.addEventListener('dragover', function (event) {
    if (!hasFiles(event.dataTransfer)) return;
    event.preventDefault();
    document.documentElement.classList.add('dragging');
  });
  document.addEventListener('dragleave', function (event) {
    // Leaving the window has no element to go to.
    if (!event.relatedTarget) document.documentElement.classList.remove('dragging');
  });
  document.addEventListener('drop', function (event) {
    if (!hasFiles(event.dataTransfer)) return;
    event.preventDefault();
    document.documentElement.classList.remove('dragging');
    openDialog();
    addFiles(event.dataTransfer.files);
  });

  // Pasting anywhere on the page but in a text field adds the pasted images (a screenshot, say).
  document.addEventListener('paste', function (event) {
    if (event.target instanceof HTMLElement && event.target.closest('input[type=text], textarea')) return;
    if (!event.clipboardData || event.clipboardData.files.length === 0) return;
    event.preventDefault();
    openDialog();
    addFiles(event.clipboardData.files);
  });

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    if (sending) return;
    if (chosen.length === 0) {
      showAlert('No photo chosen', 'Drop, paste or choose one or more images, then press Upload.');
      return;
    }
    send();
  });

  function openDialog() {
    if (dialog && !dialog.open) dialog.showModal();
  }

  function hasFiles(transfer) {
    return Boolean(transfer) && Array.prototype.indexOf.call(transfer.types, 'Files') !== -1;
  }

  function addFiles(fileList) {
    if (sending) return;
    hideAlert();
    var refused = [];
    Array.prototype.forEach.call(fileList, function (file) {
      if (isChosen(file)) return;
      // The browser's type comes from the file name: good enough for a hint here; the server reads the bytes.
      if (file.type && acceptedTypes.indexOf(file.type) === -1) return refused.push(file.name + ' is not an accepted image type');
      if (file.size > maxBytes) return refused.push(file.name + ' is larger than the limit');
      chosen.push(addPreview(file));
    });
    syncInput();
    if (refused.length > 0) showAlert('Some files were not added', refused.join('; ') + '.');
  }

  function isChosen(file) {
    return chosen.some(function (entry) {
      return entry.file.name === file.name && entry.file.size === file.size && entry.file.lastModified === file.lastModified;
    });
  }

  /** A chosen file's entry: its preview (canvas, name, caption field, progress, Remove) and where it stands. */
  function addPreview(file) {
    var item = document.createElement('li');
    // A canvas, not an <img> with a blob: URL, so the Content-Security-Policy needs no exception.
    var canvas = document.createElement('canvas');
    canvas.width = 160;
    canvas.height = 160;
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', 'Preview of ' + file.name);
    var name = document.createElement('span');
    name.className = 'preview-name';
    name.textContent = file.name;
    previewCount++;
    var ownCaption = document.createElement('input');
    ownCaption.type = 'text';
    ownCaption.id = 'caption-of-preview-' + previewCount;
    ownCaption.dir = 'auto';
    ownCaption.autocomplete = 'off';
    ownCaption.placeholder = 'Its own caption';
    countCaption(ownCaption);
    var captionLabel = document.createElement('label');
    captionLabel.className = 'visually-hidden';
    captionLabel.htmlFor = ownCaption.id;
    captionLabel.textContent = 'Caption of ' + file.name;
    var progress = document.createElement('progress');
    progress.max = 100;
    progress.value = 0;
    progress.setAttribute('aria-label', 'Upload of ' + file.name);
    var outcome = document.createElement('span');
    outcome.className = 'preview-outcome';
    var remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'remove';
    remove.textContent = 'Remove';
    remove.setAttribute('aria-label', 'Remove ' + file.name);
    remove.addEventListener('click', function () {
      removeFile(file);
    });
    item.append(canvas, name, captionLabel, ownCaption, progress, outcome, remove);
    previews.append(item);
    previews.hidden = false;
    drawPreview(file, canvas);
    return { file: file, item: item, caption: ownCaption, progress: progress, outcome: outcome };
  }

  /**
   * maxlength counts UTF-16 units, so an emoji counts twice and an emoji family eleven times; the server counts
   * characters as a reader sees them, and the bytes S3 keeps. With JavaScript each caption field is counted alike.
   */
  function countCaption(field) {
    field.addEventListener('input', function () {
      var text = field.value.normalize('NFC').trim();
      var characters = graphemes
        ? Array.from(graphemes.segment(text), function (part) {
            return part.segment;
          })
        : Array.from(text);
      var message = '';
      if (characters.length > maxCaption) {
        message = 'A caption may have up to ' + maxCaption + ' characters; this one has ' + characters.length + '.';
      } else if (utf8.encode(text).length > maxCaptionBytes) {
        message =
          'This caption is too long to store: emoji and letters with marks take the room of several plain letters, so only its first ' +
          charactersThatFit(characters) +
          ' of its ' +
          characters.length +
          ' characters fit.';
      }
      field.setCustomValidity(message);
    });
  }

  function charactersThatFit(characters) {
    var bytes = 0;
    var index;
    for (index = 0; index < characters.length; index++) {
      bytes += utf8.encode(characters[index]).length;
      if (bytes > maxCaptionBytes) return index;
    }
    return characters.length;
  }

  function drawPreview(file, canvas) {
    if (!window.createImageBitmap) return;
    createImageBitmap(file).then(
      function (bitmap) {
        // Cover the square, as the gallery's thumbnails do.
        var side = Math.min(bitmap.width, bitmap.height);
        canvas
          .getContext('2d')
          .drawImage(bitmap, (bitmap.width - side) / 2, (bitmap.height - side) / 2, side, side, 0, 0, canvas.width, canvas.height);
        bitmap.close();
        canvas.classList.add('drawn');
      },
      function () {
        canvas.classList.add('unreadable');
      },
    );
  }

  function removeFile(file) {
    if (sending) return;
    chosen.forEach(function (entry) {
      if (entry.file === file) removeEntry(entry);
    });
    button.focus();
  }

  function removeEntry(entry) {
    chosen = chosen.filter(function (other) {
      return other !== entry;
    });
    entry.item.remove();
    previews.hidden = chosen.length === 0;
    syncInput();
  }

  /** Keeps the file input's list the same as the chosen files, so the form's `required` check agrees. */
  function syncInput() {
    var transfer = new DataTransfer();
    chosen.forEach(function (entry) {
      transfer.items.add(entry.file);
    });
    input.files = transfer.files;
  }

  /** Sends the chosen files in batches of maxFiles, one after another, then opens what was stored. */
  function send() {
    var batches = [];
    var start;
    for (start = 0; start < chosen.length; start += maxFiles) batches.push(chosen.slice(start, start + maxFiles));
    var totalBytes = sizeOf(chosen);
    var bytesBefore = 0;
    var stored = [];
    var refused = [];
    var batchIndex = 0;

    hideAlert();
    setSending(true);
    showTotal(0, totalBytes);
    sendBatch();

    function sendBatch() {
      if (batchIndex === batches.length) return finish();
      var batch = batches[batchIndex];
      var request = new XMLHttpRequest();
      request.open('POST', form.action);
      request.setRequestHeader('Accept', 'application/json');
      request.upload.addEventListener('progress', function (progress) {
        if (!progress.lengthComputable) return;
        showBatchProgress(batch, progress.loaded, progress.total);
        // The multipart headers are a few hundred bytes a request: the files' bytes stand for the whole.
        showTotal(bytesBefore + Math.min(sizeOf(batch), progress.loaded), totalBytes);
      });
      request.addEventListener('load', function () {
        var answer = {};
        try {
          answer = JSON.parse(request.responseText);
        } catch (_ignored) {
          /* not JSON: explained below */
        }
        var refusedHere = answer.refused || answer.error?.refused;
        var error = answer.error || { title: 'Upload failed', message: 'The server answered HTTP ' + request.status + '.' };
        if (request.status === 201 && answer.photos) {
          settle(batch, answer.photos, refusedHere || []);
        } else if (Array.isArray(refusedHere) && refusedHere.length > 0) {
          // Every file of this batch was refused, each for its own reason: the next batch may fare better.
          settle(batch, [], refusedHere);
        } else {
          return stop(error.title, error.message + (error.hint ? ' ' + error.hint : ''));
        }
        bytesBefore += sizeOf(batch);
        batchIndex++;
        sendBatch();
      });
      request.addEventListener('error', function () {
        stop('Upload failed', 'The connection was lost. Nothing was stored.');
      });
      request.send(batchBody(batch));
    }

    /** Marks each file of the batch stored or refused (upload-answer.js says which entry is about which). */
    function settle(batch, photos, refusals) {
      var names = batch.map(function (entry) {
        return entry.file.name;
      });
      var matched = window.matchUploadAnswer(names, photos, refusals);
      photos.forEach(function (photo, index) {
        var entry = batch[matched.photos[index]];
        if (!entry) return;
        entry.progress.value = 100;
        entry.stored = photo;
        stored.push(entry);
      });
      refusals.forEach(function (refusal, index) {
        var entry = batch[matched.refused[index]];
        refused.push({ file: refusal.file, reason: refusal.reason });
        if (!entry) return;
        entry.progress.value = 0;
        entry.outcome.textContent = 'Not stored: ' + refusal.reason;
        entry.item.classList.add('refused');
      });
    }

    function finish() {
      rememberJustUploaded(stored);
      if (refused.length === 0 && stored.length > 0) {
        status.textContent = 'Uploaded. Opening…';
        // One photo opens its page; several the gallery, which marks them (and the server says how many, once).
        window.location.assign(stored.length === 1 ? stored[0].stored.url : '/');
        return;
      }
      var storedPart = stored.length === 0 ? 'Nothing was stored' : stored.length + ' of ' + (stored.length + refused.length) + ' stored';
      forgetStored();
      setSending(false);
      status.textContent = '';
      showAlert(
        refused.length === 1 ? 'A file was not stored' : refused.length + ' files were not stored',
        storedPart + '. Remove these, or replace them, and press Upload again:',
        refused,
        stored.length > 0,
      );
    }

    /** A failure that stops the batches: what was stored leaves the list; the rest stay chosen to send again. */
    function stop(title, message) {
      rememberJustUploaded(stored);
      var storedPart =
        stored.length === 0
          ? ' Press Upload to try again.'
          : ' ' +
            stored.length +
            ' of ' +
            (stored.length + chosen.length - stored.length) +
            ' photos were stored; press Upload to send the others.';
      forgetStored();
      fail(title, message + storedPart, stored.length > 0);
    }

    function forgetStored() {
      stored.forEach(function (entry) {
        removeEntry(entry);
      });
    }
  }

  /** One request's body, in the server's order: the CSRF token, the captions, then the files. */
  function batchBody(batch) {
    var body = new FormData();
    body.append('_csrf', form.elements._csrf.value);
    body.append('caption', caption.value);
    batch.forEach(function (entry, index) {
      // caption-<n> names the n-th file of this request; an empty one is left out, so the form's caption applies.
      if (entry.caption.value.trim() !== '') body.append('caption-' + (index + 1), entry.caption.value);
    });
    batch.forEach(function (entry) {
      body.append('photos', entry.file, entry.file.name);
    });
    return body;
  }

  function sizeOf(entries) {
    return entries.reduce(function (sum, entry) {
      return sum + entry.file.size;
    }, 0);
  }

  /** Each file of a batch has its share of the request's bytes, known from the sizes before it. */
  function showBatchProgress(batch, loaded, total) {
    var sentOfFiles = loaded - (total - sizeOf(batch));
    var before = 0;
    batch.forEach(function (entry) {
      var share = entry.file.size === 0 ? 1 : (sentOfFiles - before) / entry.file.size;
      entry.progress.value = Math.round(100 * Math.min(1, Math.max(0, share)));
      before += entry.file.size;
    });
  }

  function showTotal(sent, total) {
    var percent = total === 0 ? 100 : Math.round((100 * sent) / total);
    totalProgress.hidden = false;
    totalProgress.value = percent;
    status.textContent = percent < 100 ? 'Sending ' + photosInWords(chosen.length) + '… ' + percent + '%' : 'Making thumbnails…';
  }

  function photosInWords(count) {
    return count === 1 ? '1 photo' : count + ' photos';
  }

  /** The gallery marks these photos "New" when it next opens (public/gallery.js). */
  function rememberJustUploaded(stored) {
    if (stored.length === 0) return;
    try {
      const ids = JSON.parse(sessionStorage.getItem('just-uploaded') || '[]');
      stored.forEach(function (entry) {
        ids.push(entry.stored.id);
      });
      sessionStorage.setItem('just-uploaded', JSON.stringify(ids));
    } catch (_ignored) {
      /* storage disabled: the gallery shows them unmarked, newest first */
    }
  }

  function fail(title, message, showGalleryLink) {
    setSending(false);
    status.textContent = '';
    showAlert(title, message, [], showGalleryLink);
  }

  function setSending(isSending) {
    sending = isSending;
    form.classList.toggle('sending', isSending);
    button.disabled = isSending;
    totalProgress.hidden = !isSending;
    if (isSending) {
      chosen.forEach(function (entry) {
        entry.outcome.textContent = '';
        entry.item.classList.remove('refused');
      });
    } else {
      // What is still chosen was not stored, so its progress starts again from zero.
      chosen.forEach(function (entry) {
        entry.progress.value = 0;
      });
    }
  }

  /** Shows the alert: a title, a message, each refused file with its reason, and a link to what was stored. */
  function showAlert(title, message, refusedFiles, showGalleryLink) {
    var heading = document.createElement('strong');
    heading.textContent = title + '.';
    alertBox.replaceChildren(heading, ' ' + message);
    if (refusedFiles && refusedFiles.length > 0) {
      const list = document.createElement('ul');
      refusedFiles.forEach(function (refusal) {
        var item = document.createElement('li');
        var name = document.createElement('strong');
        name.textContent = refusal.file;
        item.append(name, ': ' + refusal.reason);
        list.append(item);
      });
      alertBox.append(list);
    }
    if (showGalleryLink) {
      const link = document.createElement('a');
      link.href = '/';
      link.textContent = 'See the photos that were stored';
      alertBox.append(' ', link);
    }
    alertBox.hidden = false;
  }

  function hideAlert() {
    alertBox.hidden = true;
    alertBox.replaceChildren();
  }
})();
