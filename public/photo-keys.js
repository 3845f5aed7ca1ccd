// Photo page: the left and right arrow keys follow the "Newer" and "Older" links, as in any photo viewer.
(function () {
  'use strict';
  var keyToLink = { ArrowLeft: 'a[rel=prev]', ArrowRight: 'a[rel=next]' };

  document.addEventListener('keydown', function (event) {
    var selector = keyToLink[event.key];
    if (!selector || event.altKey || event.ctrlKey || event.metaKey || event.shiftKey || event.defaultPrevented) return;
    // Arrow keys keep their own meaning in a form field, and scroll a photo zoomed to 100 % (photo-view.js).
    if (event.target instanceof HTMLElement && event.target.closest('input, textarea, select, [contenteditable]')) return;
    if (document.querySelector('.photo-frame.zoomed')) return;
    var link = document.querySelector('.photo-pager ' + selector);
    if (!link) return;
    event.preventDefault();
    window.location.assign(link.href);
  });
})();
