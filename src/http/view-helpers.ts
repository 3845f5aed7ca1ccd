// What every page template may call (set on app.locals by createApp). The formatting is src/format.ts's, which
// error messages use too, so a size or a file name reads the same on a page and in a message.
import { credentialFooter } from '../about/credential-footer.js';
import { APP_DISPLAY_NAME } from '../app-name.js';
import { formatBytes, printableFileName } from '../format.js';
import type { CredentialChainTrace } from '../storage/credentials.js';

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
