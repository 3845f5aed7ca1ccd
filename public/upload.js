// Upload progress: with JavaScript on, the form is sent with XMLHttpRequest so a progress bar can show
// how much has been sent. Without JavaScript the form posts normally; the server answers both.
(function () {
  'use strict';
  var form = document.getElementById('upload-form');
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  var box = form.querySelector('.progress');
  var bar = document.getElementById('upload-progress');
  var status = document.getElementById('upload-status');
  var button = form.querySelector('button[type=submit]');

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var request = new XMLHttpRequest();
    request.open('POST', form.action);
    request.setRequestHeader('Accept', 'application/json');
    request.upload.addEventListener('progress', function (progress) {
      if (!progress.lengthComputable) return;
      var percent = Math.round((progress.loaded / progress.total) * 100);
      bar.value = percent;
      status.textContent = percent < 100 ? 'Sending… ' + percent + '%' : 'Making thumbnails…';
    });
    request.addEventListener('load', function () {
      var body = {};
      try { body = JSON.parse(request.responseText); } catch (ignored) { /* not JSON: shown below */ }
      if (request.status === 201 && body.photos) {
        window.location.assign(body.photos.length === 1 ? body.photos[0].url : '/?uploaded=' + body.photos.length);
        return;
      }
      var error = body.error || { message: 'The upload failed (HTTP ' + request.status + ').' };
      finish(error.message + (error.hint ? ' ' + error.hint : ''));
    });
    request.addEventListener('error', function () { finish('The upload failed: the connection was lost. Nothing was stored; try again.'); });
    box.hidden = false;
    bar.value = 0;
    status.textContent = 'Sending…';
    button.disabled = true;
    request.send(new FormData(form));
  });

  function finish(message) {
    status.textContent = message;
    button.disabled = false;
  }
})();
