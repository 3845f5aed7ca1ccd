// Which sent file each entry of an upload's JSON answer is about, for upload.js. The answer numbers its entries by
// their place in the request (`position`, from 1): names repeat (every pasted image is "image.png"). An instance of
// an older version, during a rolling deploy, sends names only: those entries are matched by name, in the order sent.
(function (exports) {
  'use strict';
  /**
   * `names`: the request's file names in the order sent; `photos` and `refused`: the answer's two lists. Returns the
   * index (from 0) of each entry's file, or -1 when no file is left for it: a stored photo left chosen and sent
   * again is better than a file marked stored that never was.
   */
  exports.matchUploadAnswer = function (names, photos, refused) {
    var taken = names.map(function () {
      return false;
    });
    var take = function (index) {
      if (index < 0 || index >= names.length || taken[index]) return -1;
      taken[index] = true;
      return index;
    };
    var hasPlace = function (entry) {
      return typeof entry.position === 'number';
    };
    var entries = photos.concat(refused);
    var matched = entries.map(function (entry) {
      return hasPlace(entry) && Number.isInteger(entry.position) ? take(entry.position - 1) : -1;
    });
    // Places first: an entry without one takes only what no place claims.
    entries.forEach(function (entry, index) {
      if (hasPlace(entry)) return;
      matched[index] = take(
        names.findIndex(function (name, fileIndex) {
          return name === entry.file && !taken[fileIndex];
        }),
      );
    });
    return { photos: matched.slice(0, photos.length), refused: matched.slice(photos.length) };
  };
})(window);
