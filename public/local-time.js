// Times are rendered in UTC by the server, which cannot know the viewer's time zone; this rewrites each
// <time data-local-time> in the browser's own zone and format, keeping the exact moment in `datetime`.
(function () {
  'use strict';
  if (!window.Intl || !Intl.DateTimeFormat) return;
  var formats = {
    short: new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }),
    // Under a day's heading in the gallery, the time of day is enough.
    time: new Intl.DateTimeFormat(undefined, { timeStyle: 'short' }),
    long: new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'long' }),
  };

  document.querySelectorAll('time[data-local-time]').forEach(function (element) {
    var moment = new Date(element.getAttribute('datetime'));
    var format = formats[element.getAttribute('data-local-time')] || formats.long;
    if (Number.isNaN(moment.getTime())) return;
    element.title = element.textContent;
    element.textContent = format.format(moment);
  });
})();
