/**
 * The pid service (test/fixtures/services/pid-service.cjs) deployed through the process runtime that deploy.process
 * uses, for the remediation tests and recorded scenarios: which process answers on an environment's port.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { EnvironmentRef, ProcessRuntime } from '../../shared/node/runtime';
import { freePort } from './temporal-server';
import { PROJECT_ROOT } from './toolchain';

const SOURCE = path.join(PROJECT_ROOT, 'test', 'fixtures', 'services', 'pid-service.cjs');

/** Deploys the pid service to `ref` on a free port (its artifact under `scratch`); its port, pid and proxy pid. */
export async function deployPidService(runtime: ProcessRuntime, ref: EnvironmentRef, scratch: string): Promise<{ port: number; pid: number; proxyPid?: number }> {
  const artifactDir = path.join(scratch, 'pid-service');
  fs.mkdirSync(artifactDir, { recursive: true });
  fs.copyFileSync(SOURCE, path.join(artifactDir, 'server.cjs'));
  const port = await freePort();
  const result = await runtime.deploy(ref, {
    artifactDir,
    start: ['node', 'server.cjs'],
    port,
    env: {},
    health: { path: '/health', expectStatus: 200, timeoutMs: 10_000 },
    stopGraceMs: 2_000,
    deployedBy: 'test',
  });
  return { port, pid: result.pid, proxyPid: runtime.status(ref).proxy.pid };
}

/** The pid of the process that answers on 127.0.0.1:`port` (through the environment's proxy). */
export async function pidAt(port: number): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
  return ((await response.json()) as { pid: number }).pid;
}
