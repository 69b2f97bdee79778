/**
 * The database rules behind exactly-once effects and fencing (migration 0003_effects, activities/effects.ts) and the
 * checkpoint helper (activities/checkpoint.ts), on a real PostgreSQL server and on PGlite: no Temporal here, the
 * real-process failover tests are in failover.test.ts.
 */
import { sql } from 'kysely';
import pino from 'pino';
import { chooseResumePoint, Checkpointer, parseCheckpointDetails, type HeartbeatContext } from '../../activities/common/checkpoint';
import { FencedOutError, generationFromActivityId, TaskEffects, type TaskKey } from '../../activities/common/effects';
import { migrateToLatest, openDatabase, type DatabaseHandle, type Db } from '../../shared/node/db';
import { startEmbeddedPostgresThread } from '../helpers/embedded-postgres-thread';
import { startPostgresServer } from '../helpers/postgres-server';

/** Logs go to a buffer, so the tests can check what a refused write logs. */
function bufferLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

const rows = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => ({ item: from + i, digest: `d${from + i}` }));

describe('checkpoint helper (pure parts)', () => {
  test('heartbeat details are a checkpoint only when they have the shape', () => {
    expect(parseCheckpointDetails({ processed: 5, cursor: 5, partial: { checksum: 1 } })).toEqual({ processed: 5, cursor: 5, partial: { checksum: 1 } });
    expect(parseCheckpointDetails(undefined)).toBeUndefined();
    expect(parseCheckpointDetails({ phase: 'health-check' })).toBeUndefined();
    expect(parseCheckpointDetails({ processed: -1, cursor: 0 })).toBeUndefined();
  });

  test('resumes from the further of the heartbeat details and the durable checkpoint', () => {
    const initial = { processed: 0, cursor: 0 };
    expect(chooseResumePoint(initial)).toMatchObject({ source: 'start', details: initial });
    expect(chooseResumePoint(initial, { processed: 500, cursor: 500 })).toMatchObject({ source: 'heartbeat', details: { cursor: 500 } });
    expect(chooseResumePoint(initial, { processed: 500, cursor: 500 }, { processed: 1500, cursor: 1500 })).toMatchObject({
      source: 'checkpoint',
      details: { cursor: 1500 },
    });
    expect(chooseResumePoint(initial, { processed: 1500, cursor: 1500 }, { processed: 1500, cursor: 1500 })).toMatchObject({ source: 'heartbeat' });
    expect(chooseResumePoint(initial, undefined, { processed: 1000, cursor: 1000 })).toMatchObject({ source: 'checkpoint' });
  });

  test('activity IDs give the generation; anything not numeric is generation 0', () => {
    expect(generationFromActivityId('7')).toBe(7);
    expect(generationFromActivityId('extract-a')).toBe(0);
  });
});

const SCENARIOS = [
  {
    name: 'a real PostgreSQL server',
    start: async () => {
      const server = await startPostgresServer({ database: 'ados_fencing' });
      return { url: server.url, stop: () => server.stop() };
    },
  },
  { name: 'PGlite', start: () => startEmbeddedPostgresThread() },
];

describe.each(SCENARIOS)('fenced effects on $name', (scenario) => {
  let server: { url: string; stop(): Promise<void> };
  let handle: DatabaseHandle;
  let db: Db;
  let seq = 0;
  const newKey = (): TaskKey => ({ workflowId: `delivery-t-r${++seq}`, environment: 'dev', taskId: 'batch' });

  beforeAll(async () => {
    server = await scenario.start();
    handle = await openDatabase(server.url, { poolSize: 2 });
    db = handle.db;
    await migrateToLatest(db);
  }, 120_000);

  afterAll(async () => {
    await handle?.close();
    await server?.stop();
  });

  const count = async (table: 'effects' | 'fenced_writes', key: TaskKey) =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .where('workflow_id', '=', key.workflowId)
          .where('environment', '=', key.environment)
          .where('task_id', '=', key.taskId)
          .executeTakeFirstOrThrow()
      ).n,
    );

  test('each item is written once; a redo counts as redone, not written', async () => {
    const key = newKey();
    const { logger } = bufferLogger();
    const first = await TaskEffects.claim(db, key, { generation: 3, attempt: 1, worker: 'w1' }, logger);
    expect(await first.write(rows(0, 50))).toEqual({ written: 50, redone: 0 });
    const second = await TaskEffects.claim(db, key, { generation: 3, attempt: 2, worker: 'w2' }, logger);
    expect(await second.write(rows(40, 60))).toEqual({ written: 10, redone: 10 });
    expect(await count('effects', key)).toBe(60);
    const byAttempt = await db
      .selectFrom('effects')
      .select(['attempt', 'worker', (eb) => eb.fn.countAll().as('n')])
      .where('workflow_id', '=', key.workflowId)
      .groupBy(['attempt', 'worker'])
      .orderBy('attempt')
      .execute();
    expect(byAttempt.map((r) => ({ ...r, n: Number(r.n) }))).toEqual([
      { attempt: 1, worker: 'w1', n: 50 },
      { attempt: 2, worker: 'w2', n: 10 },
    ]);
  });

  test('after a later attempt claims the fence, the earlier one is refused, recorded and logged', async () => {
    const key = newKey();
    const { logger, lines } = bufferLogger();
    const stale = await TaskEffects.claim(db, key, { generation: 3, attempt: 1, worker: 'paused' }, logger);
    await stale.startAttempt(0, 'start');
    await stale.write(rows(0, 10));
    const live = await TaskEffects.claim(db, key, { generation: 3, attempt: 2, worker: 'live' }, logger);

    const refusal = await stale.write(rows(10, 20)).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(FencedOutError);
    expect((refusal as FencedOutError).fence).toEqual({ generation: 3, attempt: 2, worker: 'live' });
    expect((refusal as Error).message).toMatch(/effects by attempt 1 .* refused; attempt 2 \(generation 3, worker live\) has taken over/);
    // Items already written are refused too: the fence is checked before the uniqueness of the item.
    await expect(stale.write(rows(0, 5))).rejects.toBeInstanceOf(FencedOutError);
    await expect(stale.saveCheckpoint(10, { processed: 10, cursor: 10 })).rejects.toBeInstanceOf(FencedOutError);
    expect(await count('effects', key)).toBe(10);

    const fenced = await db.selectFrom('fenced_writes').selectAll().where('workflow_id', '=', key.workflowId).orderBy('id').execute();
    expect(fenced.map((f) => [f.write_kind, f.attempt, f.worker, f.fence_attempt, f.fence_worker, f.items, f.first_item])).toEqual([
      ['effects', 1, 'paused', 2, 'live', 10, 10],
      ['effects', 1, 'paused', 2, 'live', 5, 0],
      ['checkpoint', 1, 'paused', 2, 'live', 0, null],
    ]);
    const warnings = lines.filter((l) => l.msg === 'fenced write refused');
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toMatchObject({ level: 40, workflowId: key.workflowId, attempt: 1, worker: 'paused', writeKind: 'effects', items: 10 });
    await stale.finish('fenced');
    const attempt = await db.selectFrom('task_attempts').selectAll().where('workflow_id', '=', key.workflowId).executeTakeFirstOrThrow();
    expect(attempt).toMatchObject({ attempt: 1, outcome: 'fenced', written: 10, refused: 15 });

    // The live attempt writes on.
    expect(await live.write(rows(10, 20))).toEqual({ written: 10, redone: 0 });
  });

  test('an attempt that starts after a later one has claimed the fence is refused at the claim', async () => {
    const key = newKey();
    const { logger } = bufferLogger();
    await TaskEffects.claim(db, key, { generation: 3, attempt: 4, worker: 'w4' }, logger);
    await expect(TaskEffects.claim(db, key, { generation: 3, attempt: 2, worker: 'w2' }, logger)).rejects.toThrow(/claim by attempt 2 .* attempt 4/);
    expect(await count('fenced_writes', key)).toBe(1);
  });

  test('a task scheduled again (higher generation) supersedes every attempt of the earlier one', async () => {
    const key = newKey();
    const { logger } = bufferLogger();
    const old = await TaskEffects.claim(db, key, { generation: 3, attempt: 9, worker: 'old' }, logger);
    const again = await TaskEffects.claim(db, key, { generation: 8, attempt: 1, worker: 'new' }, logger);
    await expect(old.write(rows(0, 1))).rejects.toBeInstanceOf(FencedOutError);
    expect(await again.write(rows(0, 1))).toEqual({ written: 1, redone: 0 });
  });

  test('the database itself refuses an effect without a claimed fence, or with another token', async () => {
    const key = newKey();
    const insert = (attempt: number) =>
      sql`INSERT INTO effects (workflow_id, environment, task_id, item, digest, generation, attempt, worker)
          VALUES (${key.workflowId}, ${key.environment}, ${key.taskId}, 0, 'x', 3, ${attempt}, 'sql')`.execute(db);
    await expect(insert(1)).rejects.toMatchObject({ code: 'AF001', message: expect.stringMatching(/no attempt .* has claimed the fence/) });
    await TaskEffects.claim(db, key, { generation: 3, attempt: 2, worker: 'w' }, bufferLogger().logger);
    await expect(insert(1)).rejects.toMatchObject({ code: 'AF001' });
    await expect(insert(3)).rejects.toMatchObject({ code: 'AF001' });
    await insert(2);
    // Unique per item: a second row for the same item is impossible, even from the fence holder.
    await expect(insert(2)).rejects.toMatchObject({ code: '23505' });
  });

  test('the durable checkpoint only moves forward, and a Checkpointer resumes from it', async () => {
    const key = newKey();
    const { logger } = bufferLogger();
    const first = await TaskEffects.claim(db, key, { generation: 3, attempt: 1, worker: 'w1' }, logger);
    await first.startAttempt(0, 'start');
    await first.saveCheckpoint(1000, { processed: 1000, cursor: 1000, partial: { checksum: 7 } });
    await first.saveCheckpoint(500, { processed: 500, cursor: 500, partial: { checksum: 1 } });
    expect(await first.loadCheckpoint()).toMatchObject({ cursor: 1000, details: { cursor: 1000, partial: { checksum: 7 } }, attempt: 1 });

    const second = await TaskEffects.claim(db, key, { generation: 3, attempt: 2, worker: 'w2' }, logger);
    const beats: unknown[] = [];
    // The heartbeat details lag behind the durable checkpoint (the SDK throttles heartbeats): the checkpoint wins.
    const context: HeartbeatContext = { info: { heartbeatDetails: { processed: 500, cursor: 500 } }, heartbeat: (d) => beats.push(d) };
    const checkpoints = await Checkpointer.resume({ initial: { processed: 0, cursor: 0 }, store: second.checkpointStore(), context });
    expect(checkpoints.resumedFrom).toMatchObject({ source: 'checkpoint', details: { cursor: 1000 }, heartbeat: { cursor: 500 } });
    expect(beats).toEqual([{ processed: 1000, cursor: 1000, partial: { checksum: 7 } }]);
    checkpoints.beat();
    await checkpoints.checkpoint({ processed: 1500, cursor: 1500 });
    expect(beats.slice(1)).toEqual([{ processed: 1000, cursor: 1000, partial: { checksum: 7 } }, { processed: 1500, cursor: 1500 }]);
    await expect(checkpoints.checkpoint({ processed: 10, cursor: 10 })).rejects.toThrow(/went back from 1500 to 10/);
    expect((await second.loadCheckpoint())?.cursor).toBe(1500);
  });
});
