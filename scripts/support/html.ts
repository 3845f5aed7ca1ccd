// Reads what a visitor would follow from the app's pages: links, images, form fields, headings. The load run,
// the benchmark and the tests all read pages through these. Regular expressions are enough because the pages
// come from our own templates, not from the wild.

/** Undoes EJS's escaping (&amp; &lt; &gt; &#34; &#39;) so URLs and captions compare with what was sent. */
export function decodeHtml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#34|#39|#x27);/g, (entity) => HTML_ENTITIES[entity] ?? entity);
}

const HTML_ENTITIES: Record<string, string> = {
  '&amp;': '&',
  '&lt;': '<',
  '&gt;': '>',
  '&quot;': '"',
  '&#34;': '"',
  '&#39;': "'",
  '&#x27;': "'",
};

/** Photo ids linked from a page, in page order, each once. */
export function photoIdsLinked(html: string): string[] {
  return [...new Set([...html.matchAll(/href="\/photos\/(\d{13}-[0-9a-f]{12})(?:\?from=[^"]*)?"/g)].map((match) => match[1]!))];
}

/** The gallery's "Older →" link, if the page has one. */
export function olderPageLink(html: string): string | undefined {
  const href = /<a href="([^"]+)" rel="next">/.exec(html)?.[1];
  return href === undefined ? undefined : decodeHtml(href);
}

/** Every `<img src>` on the page: presigned S3 URLs for photos. */
export function imageSources(html: string): string[] {
  return [...html.matchAll(/<img\s[^>]*src="([^"]+)"/g)].map((match) => decodeHtml(match[1]!));
}

/** Every URL the page's `<img srcset>` attributes offer (the sharper copies for 2× screens), in page order. */
export function srcsetSources(html: string): string[] {
  return [...html.matchAll(/<img\s[^>]*srcset="([^"]+)"/g)].flatMap((match) =>
    decodeHtml(match[1]!)
      .split(/,\s+/)
      .map((candidate) => candidate.trim().split(/\s+/)[0]!),
  );
}

/** The photo page's "Full-size image" link: the viewer page, whose image is the full-size one. */
export function fullSizeLink(html: string): string | undefined {
  const href = /<a href="([^"]+)">Full-size image<\/a>/.exec(html)?.[1];
  return href === undefined ? undefined : decodeHtml(href);
}

/** The full-size viewer's "Download" link. */
export function downloadLink(html: string): string | undefined {
  const href = /<a class="button" href="([^"]+)">Download<\/a>/.exec(html)?.[1];
  return href === undefined ? undefined : decodeHtml(href);
}

/** The photo page's heading: the caption, or a placeholder when there is none. */
export function pageHeading(html: string): string | undefined {
  const heading = /<h1[^>]*>([\s\S]*?)<\/h1>/.exec(html)?.[1];
  return heading === undefined ? undefined : decodeHtml(heading.trim());
}

/**
 * The hidden fields of the form with this id (a CSRF token, say), as a browser would send them.
 * A page without the form, or a form without hidden fields, gives none.
 */
export function hiddenFormFields(html: string, formId: string): Record<string, string> {
  const form = new RegExp(`<form\\b[^>]*\\bid="${formId}"[^>]*>([\\s\\S]*?)</form>`).exec(html)?.[1] ?? '';
  const fields: Record<string, string> = {};
  for (const [input] of form.matchAll(/<input\b[^>]*>/g)) {
    const attribute = (name: string) => new RegExp(`\\b${name}="([^"]*)"`).exec(input)?.[1];
    if (attribute('type')?.toLowerCase() !== 'hidden') continue;
    const name = attribute('name');
    if (name !== undefined) fields[decodeHtml(name)] = decodeHtml(attribute('value') ?? '');
  }
  return fields;
}

/** The CSRF token of the first form on the page, or undefined. */
export function formToken(html: string): string | undefined {
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  return token === undefined ? undefined : decodeHtml(token);
}
