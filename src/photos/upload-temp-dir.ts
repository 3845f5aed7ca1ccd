// The folder where uploads wait while their images are made. It holds people's photos before anything checked
// them, so it must be this process's user's alone: created 0700, and refused at start when it is a link, belongs
// to another user, or is open to others (a folder another local user made first in a shared /tmp could read them).
import { chmod, lstat, mkdir } from 'node:fs/promises';

export class UploadTempDirUnusable extends Error {
  constructor(dir: string, problem: string) {
    super(
      `UPLOAD_TEMP_DIR ${dir} ${problem}. Uploads wait there, so it must be a folder of the user running the app, closed to others: remove it, or set UPLOAD_TEMP_DIR to another absolute path.`,
    );
  }
}

const OWNER_ONLY = 0o700;
const OPEN_TO_OTHERS = 0o077;

/** Makes the folder if it is missing; tightens one of ours left open (as older versions made it); refuses the rest. */
export async function prepareUploadTempDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: OWNER_ONLY });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Something else of that name: the checks below say what it is.
    if (code !== 'EEXIST') throw new UploadTempDirUnusable(dir, `cannot be created (${code ?? String(error)})`);
  }
  const found = await lstat(dir);
  if (found.isSymbolicLink()) throw new UploadTempDirUnusable(dir, 'is a symbolic link');
  if (!found.isDirectory()) throw new UploadTempDirUnusable(dir, 'is not a folder');
  const uid = process.getuid?.();
  if (uid !== undefined && found.uid !== uid)
    throw new UploadTempDirUnusable(dir, `belongs to another user (uid ${found.uid}, not ${uid})`);
  if ((found.mode & OPEN_TO_OTHERS) !== 0) await chmod(dir, OWNER_ONLY);
}
