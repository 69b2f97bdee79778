/**
 * Declared output files: globs relative to a directory, matched against the regular files under it, each
 * content-hashed (sha256). Globs: `*` and `?` within a path segment, `**` for any number of segments; they cannot
 * be absolute or climb out with `..`, and symbolic links are not followed (a match is a regular file under the
 * directory, never something it points to).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

/** More matches than this is refused: the list goes into the task's output. */
export const MAX_OUTPUT_FILES = 1_000;

export interface HashedFile {
  /** Relative to the directory, with `/`. */
  path: string;
  sha256: string;
  bytes: number;
}

/** What is wrong with a glob, or undefined. */
export function globProblem(glob: string): string | undefined {
  if (glob.trim() === '') return 'cannot be empty';
  if (glob.includes('\\')) return 'use "/" between path segments';
  if (glob.startsWith('/')) return 'must be relative to the command\'s cwd, not absolute';
  if (glob.split('/').some((segment) => segment === '..')) return 'cannot climb out of the cwd with ".."';
  if (glob.split('/').some((segment) => segment.includes('**') && segment !== '**')) return '"**" must be a whole path segment, e.g. dist/**/*.js';
  return undefined;
}

const escapeRegExp = (text: string) => text.replace(/[.+^${}()|[\]\\]/g, '\\$&');

/** The regular expression of a valid glob (globProblem first), matched against `/`-separated relative paths. */
export function globToRegExp(glob: string): RegExp {
  const segments = glob.split('/').filter((segment, i, all) => segment !== '' && !(segment === '.' && all.length > 1));
  let source = '';
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    if (segment === '**') source += last ? '(?:[^/]+/)*[^/]+' : '(?:[^/]+/)*';
    else source += escapeRegExp(segment).replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]') + (last ? '' : '/');
  });
  return new RegExp(`^${source}$`);
}

function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/**
 * The regular files under `root` that match any of `globs` (sorted by path, `exclude` left out), hashed; and the
 * globs that matched nothing.
 */
export async function hashOutputFiles(root: string, globs: readonly string[], exclude: readonly string[] = []): Promise<{ files: HashedFile[]; unmatched: string[] }> {
  if (globs.length === 0) return { files: [], unmatched: [] };
  const patterns = globs.map((glob) => ({ glob, regexp: globToRegExp(glob), matched: false }));
  const candidates = (await readdir(root, { recursive: true })).map((entry) => entry.split(path.sep).join('/')).sort();
  const files: HashedFile[] = [];
  for (const relative of candidates) {
    if (exclude.includes(relative)) continue;
    const matching = patterns.filter((p) => p.regexp.test(relative));
    if (matching.length === 0) continue;
    const absolute = path.join(root, relative);
    const info = await lstat(absolute);
    if (!info.isFile()) continue;
    for (const p of matching) p.matched = true;
    if (files.length === MAX_OUTPUT_FILES) throw new Error(`the output globs match more than ${MAX_OUTPUT_FILES} files; declare fewer`);
    files.push({ path: relative, sha256: await sha256File(absolute), bytes: info.size });
  }
  return { files, unmatched: patterns.filter((p) => !p.matched).map((p) => p.glob) };
}
