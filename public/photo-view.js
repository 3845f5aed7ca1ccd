// Photo page and full-size viewer: zoom to 100 % by the button, a click on the photo or Enter/Space on the
// button, and back with Escape; on a touch screen, a swipe left or right follows "Older" or "Newer". Pointer
// events, so a mouse drag, a pen and a finger all work; the stylesheet leaves horizontal pans to this script.
(function () {
  'use strict';
  var frame = document.querySelector('.photo-frame');
  var image = frame?.querySelector('img');
  var button = document.querySelector('button.zoom');
  if (!frame || !image || !button) return;
  /** The photo's width at 100 %: one pixel of its largest image per CSS pixel. */
  var fullWidth = Number(frame.getAttribute('data-zoom-width'));
  /** A swipe: mostly sideways, and at least this far (CSS pixels). */
  var SWIPE_DISTANCE = 60;

  function isZoomed() {
    return button.getAttribute('aria-pressed') === 'true';
  }

  /** Worth zooming only when the photo is shown smaller than 100 %. */
  function updateZoomable() {
    var zoomable = isZoomed() || image.getBoundingClientRect().width < fullWidth - 1;
    button.hidden = !zoomable;
    frame.classList.toggle('zoomable', zoomable);
  }

  function setZoom(zoomed) {
    button.setAttribute('aria-pressed', String(zoomed));
    frame.classList.toggle('zoomed', zoomed);
    // The CSSOM, not a style attribute: the Content-Security-Policy allows no inline styles.
    image.style.width = zoomed ? fullWidth + 'px' : '';
    // The browser picks the srcset image for the width shown: at 100 %, the largest.
    if (image.hasAttribute('sizes')) {
      if (zoomed) {
        image.setAttribute('data-sizes', image.getAttribute('sizes'));
        image.setAttribute('sizes', fullWidth + 'px');
      } else if (image.hasAttribute('data-sizes')) {
        image.setAttribute('sizes', image.getAttribute('data-sizes'));
      }
    }
    if (zoomed) {
      // Scrollable by keyboard too: the frame takes focus as a named region.
      frame.setAttribute('tabindex', '0');
      frame.setAttribute('role', 'region');
      frame.setAttribute('aria-label', 'Photo at 100 %, scrollable');
      // The middle of the photo in view, as a viewer opens a panorama.
      frame.scrollLeft = (frame.scrollWidth - frame.clientWidth) / 2;
    } else {
      frame.removeAttribute('tabindex');
      frame.removeAttribute('role');
      frame.removeAttribute('aria-label');
    }
    updateZoomable();
  }

  button.addEventListener('click', function () {
    setZoom(!isZoomed());
  });
  image.addEventListener('click', function () {
    if (frame.classList.contains('zoomable')) setZoom(!isZoomed());
  });
  document.addEventListener('keydown', function (event) {
    if (event.key === 'Escape' && isZoomed()) {
      setZoom(false);
      button.focus();
    }
  });
  window.addEventListener('resize', updateZoomable);
  if (image.complete) updateZoomable();
  else image.addEventListener('load', updateZoomable);
  updateZoomable();

  // Swipes: a touch that ends far enough sideways follows the pager's link; none while zoomed (then a
  // sideways pan scrolls the photo).
  var start = null;
  frame.addEventListener('pointerdown', function (event) {
    start = event.pointerType === 'touch' && event.isPrimary && !isZoomed() ? { x: event.clientX, y: event.clientY } : null;
  });
  frame.addEventListener('pointercancel', function () {
    start = null;
  });
  frame.addEventListener('pointerup', function (event) {
    if (!start) return;
    var dx = event.clientX - start.x;
    var dy = event.clientY - start.y;
    start = null;
    if (Math.abs(dx) < SWIPE_DISTANCE || Math.abs(dx) < 2 * Math.abs(dy)) return;
    // Swiping left brings the next photo in from the right: the older one, as "Older →" sits on the right.
    var link = document.querySelector('.photo-pager a[rel=' + (dx < 0 ? 'next' : 'prev') + ']');
    if (link) window.location.assign(link.href);
  });
})();
