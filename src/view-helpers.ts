// What every page template may call (set on app.locals by createApp). Error messages use formatBytes too,
// so a size reads the same on a page and in a message.
import { credentialFooter } from './about/credential-footer.js';
import { APP_DISPLAY_NAME } from './app-name.js';
import { printableFileName } from './format.js';
import type { CredentialChainTrace } from './storage/credentials.js';

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}

export function viewHelpers(credentialTrace: CredentialChainTrace) {
  return {
    formatBytes,
    // A name the client chose (a file's), shortened and without the characters that could reorder the page.
    printableFileName,
    appName: APP_DISPLAY_NAME,
    // Read when a page renders, so the footer names the provider that supplied this request's credentials.
    credentialFooter: () => credentialFooter(credentialTrace.lastSource()),
  };
}
