/**
 * startEmbeddedPostgres (PGlite over the PostgreSQL wire protocol) for tests, run on a worker thread of the
 * test process.
 *
 * Why a thread: PGlite's CommonJS build loads Node built-ins with dynamic `import()`, which jest's module
 * sandbox refuses without `--experimental-vm-modules` ("A dynamic import callback was invoked without
 * --experimental-vm-modules"). A worker thread is plain Node, outside that sandbox, and still part of this
 * process: the server goes away with it. Other processes (workers, the CLI) connect with the postgres:// URL.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { EmbeddedPostgres, EmbeddedPostgresOptions } from '../../shared/node/db/embedded';
import { PROJECT_ROOT } from './toolchain';

const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
require(workerData.tsx).register();
const { startEmbeddedPostgres } = require(workerData.module);
startEmbeddedPostgres(workerData.options).then(
  (server) => {
    parentPort.on('message', (message) => {
      if (message !== 'stop') return;
      server.stop().then(
        () => parentPort.postMessage({ type: 'stopped' }),
        (error) => parentPort.postMessage({ type: 'stopped', error: String((error && error.stack) || error) }),
      );
    });
    parentPort.postMessage({ type: 'ready', url: server.url });
  },
  (error) => parentPort.postMessage({ type: 'error', error: String((error && error.stack) || error) }),
);
`;

type ThreadMessage = { type: 'ready'; url: string } | { type: 'error'; error: string } | { type: 'stopped'; error?: string };

export async function startEmbeddedPostgresThread(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const worker = new Worker(THREAD_SOURCE, {
    eval: true,
    workerData: {
      tsx: require.resolve('tsx/cjs/api'),
      module: path.join(PROJECT_ROOT, 'shared', 'node', 'db', 'embedded.ts'),
      options,
    },
  });
  const next = () =>
    new Promise<ThreadMessage>((resolve, reject) => {
      const onMessage = (message: ThreadMessage) => {
        worker.off('error', onError);
        worker.off('exit', onExit);
        resolve(message);
      };
      const onError = (error: Error) => {
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        reject(error);
      };
      const onExit = (code: number) => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        reject(new Error(`embedded PostgreSQL thread exited (code ${code})`));
      };
      worker.once('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
    });

  const first = await next().catch(async (error) => {
    await worker.terminate();
    throw error;
  });
  if (first.type !== 'ready') {
    await worker.terminate();
    throw new Error(`embedded PostgreSQL did not start: ${'error' in first ? first.error : first.type}`);
  }
  let stopped: Promise<void> | undefined;
  return {
    url: first.url,
    stop: () =>
      (stopped ??= (async () => {
        const done = next();
        worker.postMessage('stop');
        const message = await done.catch((error: Error) => ({ type: 'stopped' as const, error: error.message }));
        await worker.terminate();
        if (message.type === 'stopped' && message.error) throw new Error(`embedded PostgreSQL did not stop cleanly: ${message.error}`);
      })()),
  };
}
