/**
 * The embedded PostgreSQL (PGlite served over the wire protocol, shared/node/db/pglite-server.ts) shared by many
 * connections: one connection's query is never mixed with another's, however their messages arrive; transactions
 * hold the session; a connection that goes away leaves nothing half-done behind.
 *
 * The first case fails with pglite-socket's own PGLiteSocketServer (0.2.17): connection A, whose Bind arrives after
 * B's whole query, runs B's statement with A's parameter ("from B: a"). Upstream: electric-sql/pglite#1046.
 */
import { Pool } from 'pg';
import type { EmbeddedPostgres } from '../../shared/node/db/embedded';
import { startEmbeddedPostgresThread } from '../helpers/embedded-postgres-thread';
import { wire, wireConnect, type WireConnection } from '../helpers/pg-wire';

let server: EmbeddedPostgres;
let hostPort: string;
let pool: Pool;
const open: WireConnection[] = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function connect(): Promise<WireConnection> {
  const connection = await wireConnect(hostPort);
  open.push(connection);
  return connection;
}

beforeAll(async () => {
  server = await startEmbeddedPostgresThread();
  hostPort = new URL(server.url).host;
  pool = new Pool({ connectionString: server.url, max: 2 });
  await pool.query('CREATE TABLE wire_t (k int PRIMARY KEY, v text)');
}, 60_000);

afterAll(async () => {
  for (const connection of open) connection.close();
  await pool?.end();
  await server?.stop();
});

test("a query whose Parse and Bind arrive in separate reads is not mixed with another connection's query", async () => {
  const a = await connect();
  const b = await connect();
  a.write(wire.parse("SELECT 'from A: ' || $1::text AS v"));
  await sleep(100);
  b.write(wire.extended("SELECT 'from B: ' || $1::text AS v", ['b']));
  // B's query waits for nothing A still has to send... except A's batch, which runs once A's Sync arrives.
  await sleep(100);
  a.write(Buffer.concat([wire.bind(['a']), wire.describe(), wire.execute(), wire.sync()]));
  await Promise.all([a.waitReady(2), b.waitReady(2)]);
  expect({ a: a.rows, b: b.rows, errors: [...a.errors, ...b.errors] }).toEqual({ a: [['from A: a']], b: [['from B: b']], errors: [] });
});

test('a connection that closes before its Sync leaves its half-sent statement unexecuted; the others go on', async () => {
  const a = await connect();
  a.write(Buffer.concat([wire.parse('INSERT INTO wire_t (k, v) VALUES ($1, $2)'), wire.bind(['1', 'half-sent']), wire.execute()]));
  await sleep(100);
  a.close();
  await sleep(100);
  const { rows } = await pool.query('SELECT count(*)::int AS n FROM wire_t WHERE k = $1', [1]);
  expect(rows).toEqual([{ n: 0 }]);
});

test('a transaction holds the session until it ends; a connection closed inside one is rolled back', async () => {
  const a = await connect();
  const b = await connect();
  a.write(wire.query('BEGIN'));
  await a.waitReady(2);
  a.write(wire.extended('INSERT INTO wire_t (k, v) VALUES ($1, $2)', ['2', 'committed']));
  await a.waitReady(3);
  b.write(wire.extended('SELECT v FROM wire_t WHERE k = $1', ['2']));
  await sleep(200);
  expect(b.readyCount()).toBe(1); // B waits: A is inside its transaction
  a.write(wire.query('COMMIT'));
  await Promise.all([a.waitReady(4), b.waitReady(2)]);
  expect(b.rows).toEqual([['committed']]);

  const c = await connect();
  c.write(wire.query('BEGIN'));
  await c.waitReady(2);
  c.write(wire.extended('INSERT INTO wire_t (k, v) VALUES ($1, $2)', ['3', 'rolled back']));
  await c.waitReady(3);
  c.close();
  const { rows } = await pool.query('SELECT k FROM wire_t WHERE k IN (2, 3) ORDER BY k');
  expect(rows).toEqual([{ k: 2 }]);
});

test('a Flush answers what came before it and keeps the session for that connection until its Sync', async () => {
  const a = await connect();
  const b = await connect();
  a.write(Buffer.concat([wire.parse('SELECT $1::int + 1 AS v'), wire.bind(['41']), wire.describe(), wire.execute(), wire.flush()]));
  const deadline = Date.now() + 10_000;
  while (a.rows.length === 0 && Date.now() < deadline) await sleep(5);
  expect(a.rows).toEqual([['42']]);
  b.write(wire.extended('SELECT $1::text AS v', ['b']));
  await sleep(200);
  expect(b.readyCount()).toBe(1);
  a.write(wire.sync());
  await Promise.all([a.waitReady(2), b.waitReady(2)]);
  expect(b.rows).toEqual([['b']]);
});

test('errors end a batch as on PostgreSQL: one ReadyForQuery, and the connection answers the next query correctly', async () => {
  const a = await connect();
  a.write(wire.extended('SELECT $1::int AS v', ['not a number']));
  await a.waitReady(2);
  expect(a.errors).toEqual([expect.stringContaining('22P02')]);
  a.write(wire.extended('SELECT $1::int AS v', ['7']));
  await a.waitReady(3);
  await sleep(100);
  expect({ ready: a.readyCount(), rows: a.rows }).toEqual({ ready: 3, rows: [['7']] });
});
