// The gallery page's script. Days: the server groups the photos by UTC day; this regroups them by the viewer's
// own day and names each ("Today", "Yesterday", "3 December", with the year when it is not this year).
// Justified rows: each tile gets its photo's width / height ratio (data-ratio, from the record) as --ratio, and
// CSS makes it grow by that share, so every row fills the width at one height. The Content-Security-Policy
// forbids style attributes in the markup, not styles set by a script; without JavaScript the tiles keep their
// shapes (from the images' width and height) in rows of uneven height.
// Older photos load as the "Older" link scrolls near: the next page is fetched as the same HTML a crawler or a
// browser without JavaScript gets by following the link, and its tiles join the days above.
// Just uploaded: the upload script leaves the new photos' ids in sessionStorage; their tiles are marked "New".
(function () {
  'use strict';
  var days = document.querySelector('.gallery .days');
  if (!days || !window.Intl || !Intl.DateTimeFormat) return;

  var now = new Date();
  var today = localDate(now);
  var yesterday = localDate(new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1));
  var thisYear = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'long' });
  var otherYear = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'long', year: 'numeric' });
  /** The viewer's date of the last day shown, whose grid the next tile joins if it is of the same day. */
  var lastDate = null;
  var photoCount = 0;
  var justUploaded = takeJustUploaded();

  var tiles = Array.from(days.querySelectorAll('.grid > li'));
  days.replaceChildren();
  appendTiles(tiles);
  markJustUploaded(true);
  loadOlderOnScroll();

  /** Adds tiles (newest first, older than every tile shown) under their local day, a new heading where a day begins. */
  function appendTiles(newTiles) {
    newTiles.forEach(function (tile) {
      var grid;
      var moment = new Date(tile.querySelector('time[datetime]').getAttribute('datetime'));
      var date = localDate(moment);
      if (date !== lastDate) {
        grid = document.createElement('ul');
        grid.className = 'grid justified';
        days.append(dayHeading(date, moment), grid);
        lastDate = date;
      }
      var ratio = Number(tile.getAttribute('data-ratio'));
      if (ratio > 0 && Number.isFinite(ratio)) tile.style.setProperty('--ratio', String(ratio));
      // Each page numbers its photos from 1: continued here, so every tile's accessible name stays its own.
      photoCount++;
      var label = tile.querySelector('.tile-label .visually-hidden');
      if (label) label.textContent = label.textContent.replace(/^Photo \d+/, 'Photo ' + photoCount);
      days.lastElementChild.append(tile);
    });
  }

  function dayHeading(date, moment) {
    var heading = document.createElement('h2');
    heading.className = 'day';
    var time = document.createElement('time');
    time.setAttribute('datetime', date);
    time.textContent =
      date === today
        ? 'Today'
        : date === yesterday
          ? 'Yesterday'
          : (moment.getFullYear() === now.getFullYear() ? thisYear : otherYear).format(moment);
    heading.append(time);
    return heading;
  }

  /**
   * Fetches the page the "Older" link names when it comes within a screen of the window, appends its photos,
   * and points the link (and the address bar, for a reload or a shared link) at what comes next. The link
   * stays a link throughout: if a fetch fails it is left as it is, for the visitor to follow.
   */
  function loadOlderOnScroll() {
    var older = document.querySelector('.gallery .pager a[rel="next"]');
    if (!older || !window.IntersectionObserver || !window.fetch || !window.DOMParser) return;
    var announcer = document.createElement('p');
    announcer.className = 'visually-hidden';
    announcer.setAttribute('role', 'status');
    older.closest('.pager').after(announcer);
    var loading = false;
    var observer = new IntersectionObserver(
      function (entries) {
        if (
          !loading &&
          entries.some(function (entry) {
            return entry.isIntersecting;
          })
        )
          loadOlder();
      },
      { rootMargin: '0px 0px 100% 0px' },
    );
    observer.observe(older);

    function loadOlder() {
      loading = true;
      older.setAttribute('aria-busy', 'true');
      var pageUrl = older.href;
      fetch(pageUrl, { headers: { Accept: 'text/html' }, credentials: 'same-origin' })
        .then(function (response) {
          if (!response.ok) throw new Error('HTTP ' + response.status);
          return response.text();
        })
        .then(function (html) {
          var page = new DOMParser().parseFromString(html, 'text/html');
          var pageTiles = Array.from(page.querySelectorAll('.gallery .days .grid > li'));
          var next = page.querySelector('.gallery .pager a[rel="next"]');
          appendTiles(
            pageTiles.map(function (tile) {
              return document.adoptNode(tile);
            }),
          );
          markJustUploaded(false);
          history.replaceState(history.state, '', pageUrl);
          older.removeAttribute('aria-busy');
          if (next) {
            older.setAttribute('href', next.getAttribute('href'));
            announcer.textContent = photosInWords(pageTiles.length) + ' loaded.';
            loading = false;
            // Still in reach (a tall window, a short page): the observer reports only changes, so ask again.
            observer.unobserve(older);
            observer.observe(older);
          } else {
            observer.disconnect();
            older.remove();
            announcer.textContent = photosInWords(pageTiles.length) + ' loaded. These are all the photos.';
          }
        })
        .catch(function () {
          observer.disconnect();
          older.removeAttribute('aria-busy');
          announcer.textContent = 'Older photos could not be loaded. The "Older" link still leads to them.';
        });
    }
  }

  function photosInWords(count) {
    return count === 1 ? '1 older photo' : count + ' older photos';
  }

  /** The ids of the photos the upload script has just sent, once: a reload no longer marks them. */
  function takeJustUploaded() {
    var ids;
    try {
      ids = JSON.parse(sessionStorage.getItem('just-uploaded') || '[]');
      sessionStorage.removeItem('just-uploaded');
      return Array.isArray(ids) ? ids.map(String) : [];
    } catch (_ignored) {
      return []; // storage disabled: nothing to mark
    }
  }

  /** Marks the tiles of just-uploaded photos "New" (seen and heard); on arrival, brings the first into view. */
  function markJustUploaded(scrollToFirst) {
    var first = null;
    days.querySelectorAll('.grid > li:not(.just-uploaded) > a[href^="/photos/"]').forEach(function (link) {
      var id = link.getAttribute('href').split('/')[2].split('?')[0];
      if (justUploaded.indexOf(id) === -1) return;
      link.parentElement.classList.add('just-uploaded');
      var badge = document.createElement('span');
      badge.className = 'new-badge';
      badge.textContent = 'New';
      link.prepend(badge);
      first = first || link;
    });
    if (scrollToFirst && first && first.getBoundingClientRect().top > window.innerHeight) first.scrollIntoView({ block: 'center' });
  }

  /** The viewer's calendar date of a moment, YYYY-MM-DD. */
  function localDate(moment) {
    var pad = function (number) {
      return String(number).padStart(2, '0');
    };
    return moment.getFullYear() + '-' + pad(moment.getMonth() + 1) + '-' + pad(moment.getDate());
  }
})();
