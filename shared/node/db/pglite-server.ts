/**
 * A PostgreSQL wire-protocol server for one PGlite instance that many connections (from many processes) can share
 * correctly. It reuses @electric-sql/pglite-socket's connection handler (framing, SSL and cancel requests, start-up)
 * and replaces its query queue, whose scheduling is wrong for concurrent clients (pglite-socket 0.2.17; upstream
 * electric-sql/pglite#1046, fix pending in #977):
 *
 * - It schedules single protocol messages and keeps a connection's messages together only inside an explicit
 *   transaction. An extended-protocol query (Parse, Bind, Describe, Execute, Sync) is not in one, so when a client's
 *   Parse and its Bind reach the server in different reads (a busy machine, separate writes), another connection's
 *   whole query can run in between: it replaces the session's unnamed statement and portal, and the first client's
 *   Bind binds the other client's statement. Seen here as `08P01` bind errors, and as an INSERT … RETURNING that
 *   answered "0 rows" while writing nothing (test/integration/pglite-wire.test.ts reproduces it).
 * - An internal error while processing leaves the queue marked busy for good.
 *
 * This queue runs a connection's extended-protocol messages as one batch, once its Sync has arrived (a Flush runs
 * what came before it and keeps the session for that connection until its Sync), keeps the session for a connection
 * while it is inside a transaction block, as before, and discards a batch whose connection closes before its Sync,
 * so that nothing half-sent is executed. PGlite itself has one session: transactions of different connections are
 * serialized, as before.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketHandler } from '@electric-sql/pglite-socket';

type QueryQueue = ConstructorParameters<typeof PGLiteSocketHandler>[0]['queryQueue'];

const SYNC = 0x53; // 'S'
const QUERY = 0x51; // 'Q'
const FLUSH = 0x48; // 'H'
const FUNCTION_CALL = 0x46; // 'F'
const TERMINATE = 0x58; // 'X'
/** A start-up message has no type byte; it begins with its length, whose first byte is 0. */
const STARTUP = 0x00;

/** Messages after which the backend answers with ReadyForQuery (or closes): a batch ends there. */
function endsBatch(type: number): boolean {
  return type === SYNC || type === QUERY || type === FUNCTION_CALL || type === TERMINATE || type === STARTUP;
}

interface Unit {
  handlerId: number;
  message: Uint8Array;
  /** Ends with a Flush: the connection keeps the session until its Sync. */
  flushed: boolean;
  onData: (data: Uint8Array) => void;
  resolve: (bytes: number) => void;
  reject: (error: unknown) => void;
}

const concat = (parts: Uint8Array[]): Uint8Array => (parts.length === 1 ? parts[0] : new Uint8Array(Buffer.concat(parts)));

export class BatchingQueryQueue {
  private readonly pending = new Map<number, Uint8Array[]>();
  private queue: Unit[] = [];
  /** The connection that holds the session (mid-batch after a Flush, or inside a transaction block), if any. */
  private owner: number | null = null;
  private ownerMidBatch = false;
  private processing = false;

  constructor(private readonly db: PGlite) {}

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    const parts = this.pending.get(handlerId) ?? [];
    parts.push(message);
    const type = message[0];
    if (!endsBatch(type) && type !== FLUSH) {
      // Held until the batch is complete; the handler goes on reading the connection's next message.
      this.pending.set(handlerId, parts);
      return Promise.resolve(0);
    }
    this.pending.delete(handlerId);
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ handlerId, message: concat(parts), flushed: type === FLUSH, onData, resolve, reject });
      void this.process();
    });
  }

  private async process(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      for (;;) {
        const index = this.owner === null ? (this.queue.length > 0 ? 0 : -1) : this.queue.findIndex((u) => u.handlerId === this.owner);
        if (index < 0) return;
        const [unit] = this.queue.splice(index, 1);
        let bytes = 0;
        let failure: unknown;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(unit.message, {
              onRawData: (data) => {
                bytes += data.length;
                unit.onData(data);
              },
            }),
          );
        } catch (error) {
          failure = error;
        }
        const holds = unit.flushed || this.db.isInTransaction();
        this.owner = holds ? unit.handlerId : null;
        this.ownerMidBatch = unit.flushed;
        if (failure === undefined) unit.resolve(bytes);
        else unit.reject(failure);
      }
    } finally {
      this.processing = false;
    }
  }

  getQueueLength(): number {
    return this.queue.length;
  }

  /** The connection is gone: its unfinished batch is dropped, its queued batches are refused. */
  clearQueueForHandler(handlerId: number): void {
    this.pending.delete(handlerId);
    const mine = this.queue.filter((u) => u.handlerId === handlerId);
    this.queue = this.queue.filter((u) => u.handlerId !== handlerId);
    for (const unit of mine) unit.reject(new Error('connection closed'));
  }

  /** The connection is gone while holding the session: end its batch and roll back its transaction, then go on. */
  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (this.owner !== handlerId) return;
    // Nothing else runs meanwhile: the session is this connection's until `owner` is cleared. (exec takes PGlite's
    // exclusive lock itself, so it must not run inside runExclusive.)
    try {
      if (this.ownerMidBatch) await this.db.runExclusive(() => this.db.execProtocolRaw(new Uint8Array([SYNC, 0, 0, 0, 4])));
      if (this.db.isInTransaction()) await this.db.exec('ROLLBACK');
    } finally {
      this.owner = null;
      this.ownerMidBatch = false;
      void this.process();
    }
  }
}

export interface PGliteWireServerOptions {
  db: PGlite;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  maxConnections?: number;
}

/** Serves one PGlite over TCP to any number of connections (up to maxConnections). */
export class PGliteWireServer {
  private server: Server | null = null;
  private readonly handlers = new Set<PGLiteSocketHandler>();
  private readonly queue: BatchingQueryQueue;
  private host: string;
  private port: number;

  constructor(private readonly options: PGliteWireServerOptions) {
    this.queue = new BatchingQueryQueue(options.db);
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? 0;
  }

  async start(): Promise<void> {
    if (this.server) throw new Error('the PGlite wire server is already started');
    await this.options.db.waitReady;
    const server = createServer((socket) => this.accept(socket));
    server.maxConnections = this.options.maxConnections ?? 64;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
        server.off('error', reject);
        this.port = (server.address() as { port: number }).port;
        resolve();
      });
    });
  }

  /** host:port */
  getServerConn(): string {
    return `${this.host}:${this.port}`;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.handlers].map((handler) => handler.detach(true)));
    this.handlers.clear();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    const handler = new PGLiteSocketHandler({ queryQueue: this.queue as unknown as QueryQueue, closeOnDetach: true });
    this.handlers.add(handler);
    const forget = () => this.handlers.delete(handler);
    handler.addEventListener('close', forget);
    handler.addEventListener('error', forget);
    handler.attach(socket).catch(() => {
      forget();
      socket.destroy();
    });
  }
}
