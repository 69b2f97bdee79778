/**
 * Freezes the histories of the code on main as a release's: copies test/histories/main/ to test/histories/<tag>/,
 * which the determinism gate replays from then on and nobody re-records.
 *
 *   npx tsx test/replay/freeze-release.ts v0.2.0
 *
 * Run it on the commit being tagged, after `npx tsx test/replay/record-histories.ts` and a green `npm test`, then
 * commit the folder and tag (`git tag v0.2.0`). See test/histories/README.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import { HISTORY_SETS_DIR, isRelease, MAIN_SET } from './history-sets';

function freeze(tag: string | undefined): string {
  if (!tag || !isRelease(tag)) throw new Error(`give the release tag as v<major>.<minor>.<patch>, e.g. v0.2.0 (got ${tag ?? 'nothing'})`);
  const from = path.join(HISTORY_SETS_DIR, MAIN_SET);
  const to = path.join(HISTORY_SETS_DIR, tag);
  if (fs.existsSync(to)) throw new Error(`${path.relative(process.cwd(), to)} exists: a release's histories are frozen once and never rewritten`);
  const files = fs.readdirSync(from).filter((f) => f.endsWith('.json'));
  if (files.length === 0) throw new Error(`${path.relative(process.cwd(), from)} has no histories: record them first (npx tsx test/replay/record-histories.ts)`);
  fs.mkdirSync(to);
  for (const file of files) fs.copyFileSync(path.join(from, file), path.join(to, file));
  return `${path.relative(process.cwd(), to)}: ${files.length} files frozen from ${MAIN_SET}`;
}

if (require.main === module) {
  try {
    process.stdout.write(`${freeze(process.argv[2])}\n`);
  } catch (error) {
    process.stderr.write(`freeze-release: ${(error as Error).message}\n`);
    process.exit(2);
  }
}
