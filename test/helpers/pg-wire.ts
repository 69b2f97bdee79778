/**
 * A minimal PostgreSQL wire-protocol client for tests that must control exactly which protocol messages reach the
 * server, and when (e.g. a query's Parse in one write and its Bind in a later one). Text format only.
 */
import net from 'node:net';

const cstr = (s: string) => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
const i16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
const i32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
function message(type: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(type), i32(body.length + 4), body]);
}

/** Frontend messages (unnamed statement and portal). */
export const wire = {
  parse: (sql: string) => message('P', Buffer.concat([cstr(''), cstr(sql), i16(0)])),
  bind: (params: string[]) =>
    message('B', Buffer.concat([cstr(''), cstr(''), i16(0), i16(params.length), ...params.flatMap((p) => [i32(Buffer.byteLength(p)), Buffer.from(p)]), i16(0)])),
  describe: () => message('D', Buffer.concat([Buffer.from('P'), cstr('')])),
  execute: () => message('E', Buffer.concat([cstr(''), i32(0)])),
  flush: () => Buffer.from([0x48, 0, 0, 0, 4]),
  sync: () => Buffer.from([0x53, 0, 0, 0, 4]),
  query: (sql: string) => message('Q', cstr(sql)),
  /** Parse, Bind, Describe, Execute, Sync. */
  extended: (sql: string, params: string[] = []) =>
    Buffer.concat([wire.parse(sql), wire.bind(params), wire.describe(), wire.execute(), wire.sync()]),
};

export interface WireConnection {
  /** Data rows received so far (text values). */
  rows: string[][];
  /** Error messages received so far (severity, code and message fields). */
  errors: string[];
  /** ReadyForQuery messages received so far (the start-up one included). */
  readyCount(): number;
  write(data: Buffer): void;
  /** Resolves once `n` ReadyForQuery messages have arrived in all. */
  waitReady(n: number, timeoutMs?: number): Promise<void>;
  close(): void;
}

export async function wireConnect(hostPort: string): Promise<WireConnection> {
  const [host, port] = hostPort.split(':');
  const socket = net.connect(Number(port), host);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  let buffer = Buffer.alloc(0);
  let ready = 0;
  const rows: string[][] = [];
  const errors: string[] = [];
  socket.on('error', () => undefined);
  socket.on('data', (data: Buffer) => {
    buffer = Buffer.concat([buffer, data]);
    while (buffer.length >= 5) {
      const type = String.fromCharCode(buffer[0]);
      const length = buffer.readInt32BE(1);
      if (buffer.length < length + 1) break;
      const body = buffer.subarray(5, length + 1);
      buffer = buffer.subarray(length + 1);
      if (type === 'Z') ready++;
      else if (type === 'E') errors.push(body.toString('utf8').split('\0').filter(Boolean).map((f) => f.slice(1)).slice(0, 3).join(' '));
      else if (type === 'D') {
        const row: string[] = [];
        let offset = 2;
        for (let i = 0; i < body.readInt16BE(0); i++) {
          const size = body.readInt32BE(offset);
          offset += 4;
          row.push(size < 0 ? 'NULL' : body.subarray(offset, offset + size).toString('utf8'));
          if (size > 0) offset += size;
        }
        rows.push(row);
      }
    }
  });
  const startup = Buffer.concat([i32(196608), cstr('user'), cstr('postgres'), cstr('database'), cstr('postgres'), Buffer.from([0])]);
  socket.write(Buffer.concat([i32(startup.length + 4), startup]));
  const connection: WireConnection = {
    rows,
    errors,
    readyCount: () => ready,
    write: (data) => socket.write(data),
    async waitReady(n, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (ready < n) {
        if (Date.now() > deadline) throw new Error(`ReadyForQuery #${n} did not come within ${timeoutMs} ms (have ${ready}; errors: ${errors.join('; ')})`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    close: () => socket.destroy(),
  };
  await connection.waitReady(1);
  return connection;
}
