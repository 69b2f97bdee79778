import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The content hash of an artifact directory: every file's relative path, executable bit and bytes, and every
 * symlink's target, in sorted order. Equal trees hash equal wherever they sit, which is what makes a redeploy of the
 * same build a no-op.
 */
export function hashArtifactDirectory(root: string): string {
  const hash = createHash('sha256');
  const walk = (relative: string) => {
    const entries = fs.readdirSync(path.join(root, relative), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const rel = relative ? `${relative}/${entry.name}` : entry.name;
      const full = path.join(root, rel);
      if (entry.isDirectory()) {
        hash.update(`d\0${rel}\0`);
        walk(rel);
      } else if (entry.isSymbolicLink()) {
        hash.update(`l\0${rel}\0${fs.readlinkSync(full)}\0`);
      } else if (entry.isFile()) {
        const executable = (fs.statSync(full).mode & 0o111) !== 0;
        const bytes = fs.readFileSync(full);
        hash.update(`f\0${rel}\0${executable ? 'x' : '-'}\0${bytes.length}\0`);
        hash.update(bytes);
      }
    }
  };
  walk('');
  return hash.digest('hex');
}

/**
 * Copies `source` to `destination` unless it is already there: into a temporary sibling first, then renamed, so a
 * crash never leaves a half-copied release under its final name.
 */
export function copyArtifact(source: string, destination: string): void {
  if (fs.existsSync(destination)) return;
  const temporary = `${destination}.tmp-${process.pid}-${Date.now()}`;
  fs.mkdirSync(path.dirname(destination), { recursive: true });
  fs.cpSync(source, temporary, { recursive: true, verbatimSymlinks: true });
  try {
    fs.renameSync(temporary, destination);
  } catch (error) {
    fs.rmSync(temporary, { recursive: true, force: true });
    // Another attempt won the race with the same bytes.
    if (!fs.existsSync(destination)) throw error;
  }
}
