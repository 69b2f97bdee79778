/**
 * `ados runtime load` and the work-item table (migration 0010) on PGlite served over the wire, through the real CLI
 * process: a file with bad lines loads nothing (all or nothing) and each bad line is reported by its number, exit 2;
 * a good file loads with items numbered densely in file order; loading it again (or a file overlapping it) adds only
 * new keys; items are read back by range.
 */
import type { DatabaseHandle } from '../../shared/node/db';
import { itemCount, loadWorkItems, readWorkItems, settleBlockRange } from '../../shared/node/task-runtime/store';
import { startMigratedDatabase, type MigratedDatabase } from '../helpers/migrated-database';
import { writeWorkItems } from '../helpers/task-runtime';

let server: MigratedDatabase;
let database: DatabaseHandle;
const ados = (args: string[]) => server.ados(args);

beforeAll(async () => {
  server = await startMigratedDatabase();
  database = server.database;
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

test('bad lines: nothing is loaded, each bad line is named by its number, exit 2', async () => {
  const file = writeWorkItems(5, { extra: ['{"key": "x", "payload": 1', '', '{"payload": 2}', '{"key": "y", "colour": "red"}', '[1, 2]'] });
  const run = await ados(['runtime', 'load', '--task', 'bad', '--file', file]);
  expect(run.code).toBe(2);
  expect(run.stderr).toContain('line 6: not JSON');
  expect(run.stderr).toContain('line 8: key: Invalid input: expected string, received undefined');
  expect(run.stderr).toContain('line 9: (root): Unrecognized key: "colour"');
  expect(run.stderr).toContain('line 10: (root): Invalid input: expected object, received array');
  expect(run.stderr).toContain('fix the 4 bad line(s)');
  expect(await itemCount(database.db, { tenantId: 'acme', taskId: 'bad' })).toBe(0);
  const rows = await database.db.selectFrom('task_runtime_items').select('seq').where('task_id', '=', 'bad').execute();
  expect(rows).toEqual([]);
});

test('a good file loads in order; loading again is idempotent by key; an overlapping file adds only the new keys', async () => {
  const task = { tenantId: 'acme', taskId: 'good' };
  const run = await ados(['runtime', 'load', '--task', 'good', '--file', writeWorkItems(2500), '--json']);
  expect(run.code).toBe(0);
  expect(JSON.parse(run.stdout)).toMatchObject({ lines: 2500, added: 2500, alreadyLoaded: 0, itemCount: 2500 });
  expect(await loadWorkItems(database.db, task, writeWorkItems(2500))).toEqual({ lines: 2500, added: 0, alreadyLoaded: 2500, itemCount: 2500 });
  // 1 … 3000 again: 500 new keys, numbered after the others, and a key repeated in the file counted once.
  const overlap = writeWorkItems(3000, { extra: [JSON.stringify({ key: 'item-2999', payload: 'again' })] });
  expect(await loadWorkItems(database.db, task, overlap)).toEqual({ lines: 3001, added: 500, alreadyLoaded: 2501, itemCount: 3000 });
  const range = await readWorkItems(database.db, task, 2499, 2502);
  expect(range).toEqual([
    { seq: 2499, key: 'item-2499', payload: { n: 2499 } },
    { seq: 2500, key: 'item-2500', payload: { n: 2500 } },
    { seq: 2501, key: 'item-2501', payload: { n: 2501 } },
    { seq: 2502, key: 'item-2502', payload: { n: 2502 } },
  ]);
});

test('a missing file is refused naming --file', async () => {
  const run = await ados(['runtime', 'load', '--task', 'none', '--file', '/nonexistent/items.ndjson']);
  expect(run.code).toBe(2);
  expect(run.stderr).toContain('--file: cannot read: ENOENT');
});

test('a stale settle (a terminated run\'s, still running after a resume moved the fences past it) writes no dead letter', async () => {
  const task = { tenantId: 'acme', taskId: 'stale-settle' };
  const range = { workflowId: 'runtime-acme-stale-settle', block: 0, blockSize: 10, fromSeq: 8, toSeq: 8 };
  const deadLetter = { attempts: 2, error: 'item 8 failed' };
  // The resumed session seals the block's keys at generation 5 first; the terminated run's settle comes late, at 3.
  expect(await settleBlockRange(database.db, task, { ...range, seal: 'all', generation: 5 })).toEqual({ open: [8], deadLettered: [] });
  expect(await settleBlockRange(database.db, task, { ...range, seal: [0, 7], generation: 3, deadLetter })).toEqual({ open: [8], deadLettered: [] });
  // The current session's own settle does dead-letter the item, once.
  expect(await settleBlockRange(database.db, task, { ...range, seal: [0, 7], generation: 5, deadLetter })).toEqual({ open: [], deadLettered: [8] });
  const letters = await database.db.selectFrom('task_runtime_dead_letters').select('seq').where('task_id', '=', 'stale-settle').execute();
  expect(letters).toEqual([{ seq: 8 }]);
});
