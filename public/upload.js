// The upload form, with JavaScript on: the header's Upload link opens it in a dialog on the gallery; files
// can be dropped anywhere on the page, pasted or chosen (and added to), each shows a preview and its own
// progress, and errors show in an alert. The form is then sent with XMLHttpRequest, whose upload progress
// events fetch() lacks. Without JavaScript the link leads to /upload, and the same form posts normally.
(function () {
  'use strict';
  var form = document.getElementById('upload-form');
  if (!form || !window.XMLHttpRequest || !window.FormData || !window.DataTransfer) return;
  var input = document.getElementById('photos');
  /** The gallery's upload dialog; absent on /upload, where the form is the page. */
  var dialog = document.getElementById('upload-dialog');
  var previews = document.getElementById('upload-previews');
  var alertBox = document.getElementById('upload-alert');
  var status = document.getElementById('upload-status');
  var button = form.querySelector('button[type=submit]');
  var acceptedTypes = input.accept.split(',');
  var maxFiles = Number(input.getAttribute('data-max-files'));
  var maxBytes = Number(input.getAttribute('data-max-bytes'));
  var caption = form.elements.caption;
  var maxCaption = Number(caption.getAttribute('maxlength'));
  /** The files to send, in order, each with its preview's list item. */
  var chosen = [];
  var sending = false;

  form.classList.add('enhanced');

  // maxlength counts UTF-16 units, so an emoji counts twice and the form would stop at 140 of them; the server
  // counts characters. With JavaScript the caption is counted as the server counts it.
  caption.removeAttribute('maxlength');
  caption.addEventListener('input', function () {
    var length = Array.from(caption.value.normalize('NFC').trim()).length;
    caption.setCustomValidity(
      length > maxCaption ? 'A caption may have up to ' + maxCaption + ' characters; this one has ' + length + '.' : '',
    );
  });

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
      if (chosen.length >= maxFiles) return refused.push(file.name + ' is one file too many (up to ' + maxFiles + ' at a time)');
      chosen.push({ file: file, item: addPreview(file) });
    });
    syncInput();
    if (refused.length > 0) showAlert('Some files were not added', refused.join('; ') + '.');
  }

  function isChosen(file) {
    return chosen.some(function (entry) {
      return entry.file.name === file.name && entry.file.size === file.size && entry.file.lastModified === file.lastModified;
    });
  }

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
    var progress = document.createElement('progress');
    progress.max = 100;
    progress.value = 0;
    progress.setAttribute('aria-label', 'Upload of ' + file.name);
    var remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'remove';
    remove.textContent = 'Remove';
    remove.setAttribute('aria-label', 'Remove ' + file.name);
    remove.addEventListener('click', function () {
      removeFile(file);
    });
    item.append(canvas, name, progress, remove);
    previews.append(item);
    previews.hidden = false;
    drawPreview(file, canvas);
    return item;
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
    chosen = chosen.filter(function (entry) {
      if (entry.file !== file) return true;
      entry.item.remove();
      return false;
    });
    previews.hidden = chosen.length === 0;
    syncInput();
    button.focus();
  }

  /** Keeps the file input's list the same as the chosen files, so the form's `required` check agrees. */
  function syncInput() {
    var transfer = new DataTransfer();
    chosen.forEach(function (entry) {
      transfer.items.add(entry.file);
    });
    input.files = transfer.files;
  }

  function send() {
    // The server's order: the CSRF token first, then the caption, then the files.
    var body = new FormData();
    body.append('_csrf', form.elements._csrf.value);
    body.append('caption', form.elements.caption.value);
    chosen.forEach(function (entry) {
      body.append('photos', entry.file, entry.file.name);
    });

    var request = new XMLHttpRequest();
    request.open('POST', form.action);
    request.setRequestHeader('Accept', 'application/json');
    request.upload.addEventListener('progress', function (progress) {
      if (progress.lengthComputable) showProgress(progress.loaded, progress.total);
    });
    request.addEventListener('load', function () {
      var answer = {};
      try {
        answer = JSON.parse(request.responseText);
      } catch (_ignored) {
        /* not JSON: explained below */
      }
      if (request.status === 201 && answer.photos) {
        // A small body may be sent before any progress event: the answer says every byte arrived.
        chosen.forEach(function (entry) {
          entry.item.querySelector('progress').value = 100;
        });
        status.textContent = 'Uploaded. Opening…';
        // Several photos: the server remembered "N photos were uploaded" for the gallery to say once.
        window.location.assign(answer.photos.length === 1 ? answer.photos[0].url : '/');
        return;
      }
      var error = answer.error || {
        title: 'Upload failed',
        message: 'The server answered HTTP ' + request.status + '. Nothing was stored.',
      };
      fail(error.title, error.message + (error.hint ? ' ' + error.hint : ''));
    });
    request.addEventListener('error', function () {
      fail('Upload failed', 'The connection was lost. Nothing was stored; try again.');
    });

    hideAlert();
    setSending(true);
    status.textContent = 'Sending…';
    request.send(body);
  }

  /**
   * One request carries every file, in order, so each file's share of the bytes sent is known from the
   * sizes before it (the multipart headers around them are a few hundred bytes, not worth counting).
   */
  function showProgress(loaded, total) {
    var filesBytes = chosen.reduce(function (sum, entry) {
      return sum + entry.file.size;
    }, 0);
    var sentOfFiles = loaded - (total - filesBytes);
    var before = 0;
    chosen.forEach(function (entry) {
      var share = entry.file.size === 0 ? 1 : (sentOfFiles - before) / entry.file.size;
      entry.item.querySelector('progress').value = Math.round(100 * Math.min(1, Math.max(0, share)));
      before += entry.file.size;
    });
    status.textContent = loaded < total ? 'Sending… ' + Math.round((100 * loaded) / total) + '%' : 'Making thumbnails…';
  }

  function fail(title, message) {
    setSending(false);
    status.textContent = '';
    showAlert(title, message);
  }

  function setSending(isSending) {
    sending = isSending;
    form.classList.toggle('sending', isSending);
    button.disabled = isSending;
    // A failed upload stored nothing, so its progress starts again from zero.
    chosen.forEach(function (entry) {
      entry.item.querySelector('progress').value = 0;
    });
  }

  function showAlert(title, message) {
    var heading = document.createElement('strong');
    heading.textContent = title + '.';
    alertBox.replaceChildren(heading, ' ' + message);
    alertBox.hidden = false;
  }

  function hideAlert() {
    alertBox.hidden = true;
    alertBox.replaceChildren();
  }
})();
