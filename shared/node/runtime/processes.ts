/**
 * Process and port primitives of the process runtime: which pid is still one of ours (its environment carries a marker,
 * so a recycled pid is never taken for a release), stopping a release's group (shared/node/process/process-group.ts),
 * and loopback ports (free, in use).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { processAlive, stopGroup } from '../process/process-group';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Alive (not a zombie) and, where /proc tells, carrying `marker` (e.g. `ADOS_INSTANCE=<id>`) in its environment. */
export function isOurProcess(pid: number | undefined, marker: string): boolean {
  if (!pid || pid <= 0 || !processAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(marker);
  } catch (error) {
    // No /proc (not Linux): a live pid is all there is to go by. ENOENT: it exited meanwhile.
    return (error as NodeJS.ErrnoException).code === 'ENOENT' && !existsSync('/proc/self');
  }
}

/**
 * Stops a detached process (the leader of its own group) and its group: SIGTERM, so a service finishes its
 * in-flight requests, then SIGKILL after `graceMs`. A pid that is no longer ours is left alone.
 */
export async function stopProcessGroup(pid: number, marker: string, graceMs: number): Promise<void> {
  if (isOurProcess(pid, marker)) await stopGroup(pid, graceMs);
}

/** A port nobody listens on at 127.0.0.1 right now (the kernel's pick). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Whether something accepts connections on 127.0.0.1:`port` (a connect only: it never holds the port itself). */
export function loopbackPortAccepts(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Whether something accepts connections on 127.0.0.1:`port`, or holds it so that we could not listen there. The
 * second check binds the port for a moment, so never poll with it while a process of ours is starting to listen
 * there (use loopbackPortAccepts): the probe would take the port from under it.
 */
export async function loopbackPortBusy(port: number): Promise<boolean> {
  if (await loopbackPortAccepts(port)) return true;
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(true));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });
}

/** Waits until `check` holds, polling every `intervalMs`; false when `timeoutMs` passed first. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 25): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(intervalMs);
  }
}

export { sleep };
