// Reading the app's pages as a browser would: the form token its forms carry.

/** The CSRF token of the first form on the page, or undefined. */
export function formToken(html: string): string | undefined {
  return /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
}
