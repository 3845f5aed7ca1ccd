// Where the app's templates and static files are, whether it runs from src/ (tsx) or dist/src/ (built).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findProjectRoot(start: string): string {
  let dir = start;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

export function appPaths(): { viewsDir: string; publicDir: string } {
  const root = findProjectRoot(path.dirname(fileURLToPath(import.meta.url)));
  return { viewsDir: path.join(root, 'views'), publicDir: path.join(root, 'public') };
}
