// The gallery's photos grouped by the day they were uploaded, newest first. The server knows no viewer's time
// zone, so it groups by UTC day; public/gallery.js regroups the tiles by the viewer's own day and names the
// days ("Today", "Yesterday", "3 December").

export interface Day<Photo> {
  /** The day as an ISO date, YYYY-MM-DD (UTC), for the heading's <time datetime>. */
  date: string;
  /** The day in words, for a page read without JavaScript: "3 December 2026". */
  label: string;
  photos: Photo[];
}

const dayInWords = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });

/** Consecutive photos of one UTC day form one group; the photos come newest first, so each day appears once. */
export function groupByDay<Photo extends { uploadedAt: Date }>(photos: Photo[]): Day<Photo>[] {
  const days: Day<Photo>[] = [];
  for (const photo of photos) {
    const date = photo.uploadedAt.toISOString().slice(0, 10);
    const day = days.at(-1);
    if (day?.date === date) day.photos.push(photo);
    else days.push({ date, label: dayInWords.format(photo.uploadedAt), photos: [photo] });
  }
  return days;
}
