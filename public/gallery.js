// The gallery page's script. Days: the server groups the photos by UTC day; this regroups them by the viewer's
// own day and names each ("Today", "Yesterday", "3 December", with the year when it is not this year).
// Justified rows: each tile gets its photo's width / height ratio (data-ratio, from the record) as --ratio, and
// CSS makes it grow by that share, so every row fills the width at one height. The Content-Security-Policy
// forbids style attributes in the markup, not styles set by a script; without JavaScript the tiles keep their
// shapes (from the images' width and height) in rows of uneven height.
(function () {
  'use strict';
  var days = document.querySelector('.gallery .days');
  if (!days) return;

  if (window.Intl && Intl.DateTimeFormat) regroupByLocalDay();

  days.querySelectorAll('li[data-ratio]').forEach(function (tile) {
    var ratio = Number(tile.getAttribute('data-ratio'));
    if (ratio > 0 && Number.isFinite(ratio)) tile.style.setProperty('--ratio', String(ratio));
  });
  days.querySelectorAll('.grid').forEach(function (grid) {
    grid.classList.add('justified');
  });

  function regroupByLocalDay() {
    var now = new Date();
    var today = localDate(now);
    var yesterday = localDate(new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1));
    var thisYear = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'long' });
    var otherYear = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'long', year: 'numeric' });

    var groups = [];
    days.querySelectorAll('.grid > li').forEach(function (tile) {
      var moment = new Date(tile.querySelector('time[datetime]').getAttribute('datetime'));
      var date = localDate(moment);
      var group = groups[groups.length - 1];
      if (!group || group.date !== date) {
        group = { date: date, moment: moment, tiles: [] };
        groups.push(group);
      }
      group.tiles.push(tile);
    });

    var rebuilt = [];
    groups.forEach(function (group) {
      var heading = document.createElement('h2');
      heading.className = 'day';
      var time = document.createElement('time');
      time.setAttribute('datetime', group.date);
      time.textContent =
        group.date === today
          ? 'Today'
          : group.date === yesterday
            ? 'Yesterday'
            : (group.moment.getFullYear() === now.getFullYear() ? thisYear : otherYear).format(group.moment);
      heading.append(time);
      var grid = document.createElement('ul');
      grid.className = 'grid';
      grid.append.apply(grid, group.tiles);
      rebuilt.push(heading, grid);
    });
    days.replaceChildren.apply(days, rebuilt);
  }

  /** The viewer's calendar date of a moment, YYYY-MM-DD. */
  function localDate(moment) {
    var pad = function (number) {
      return String(number).padStart(2, '0');
    };
    return moment.getFullYear() + '-' + pad(moment.getMonth() + 1) + '-' + pad(moment.getDate());
  }
})();
