// The gallery's layout in justified rows: each tile gets its photo's width / height ratio (data-ratio, from the
// record) as --ratio, and CSS makes it grow by that share, so every row fills the width at one height. The
// Content-Security-Policy forbids style attributes in the markup, not styles set by a script; without
// JavaScript the tiles keep their shapes (from the images' width and height) in rows of uneven height.
(function () {
  'use strict';
  document.querySelectorAll('.grid').forEach(function (grid) {
    grid.querySelectorAll('li[data-ratio]').forEach(function (tile) {
      var ratio = Number(tile.getAttribute('data-ratio'));
      if (ratio > 0 && Number.isFinite(ratio)) tile.style.setProperty('--ratio', String(ratio));
    });
    grid.classList.add('justified');
  });
})();
