// The temporary files of one upload, removed when the upload ends.
import { rm } from 'node:fs/promises';

export class TempFiles {
  private readonly files: { path: string; closed: Promise<void> }[] = [];

  /** `closed` settles when the file's stream has closed: removing it earlier could race its creation. */
  add(path: string, closed: Promise<void> = Promise.resolve()): void {
    this.files.push({ path, closed });
  }

  async removeAll(): Promise<void> {
    await Promise.all(
      this.files.map(async (file) => {
        await file.closed;
        await rm(file.path, { force: true });
      }),
    );
  }
}
