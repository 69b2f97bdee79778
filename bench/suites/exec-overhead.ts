/**
 * `npm run bench -- exec-overhead`: what the `exec` capability adds to running a command. 100 no-op commands
 * (`true`) one after another, through the exec activity exactly as a capability worker registers it
 * (createCapabilityActivities('exec'): runCapability's input parsing, the fresh per-attempt workspace, then exec's
 * environment allowlist, log file, detached process group, heartbeat, leftover check and log tail), against a bare
 * loop of `child_process.spawn('true')` awaiting each exit. Target: ADOS / bare ≤ 1.3.
 *
 * The activity runs in Temporal's MockActivityEnvironment (a real activity Context, heartbeats included, without a
 * server): task dispatch through Temporal is what bench/suites/routing-overhead.ts measures, and would swamp a
 * millisecond command here. Sides alternate, ADOS_BENCH_REPEATS times each; the figure is the ratio of the medians.
 * Nothing here asserts.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createCapabilityActivities } from '../../activities';
import type { CapabilityRequest, CapabilityResult } from '../../shared/contract/delivery/capability-io';
import { loadBenchConfig } from '../../shared/node/config';
import { openDatabase } from '../../shared/node/db';
import { createLogger } from '../../shared/node/logger';
import { median, type BenchReport, type BenchSuite } from '../harness';
import { benchDatabase } from '../lib/database';

const COMMANDS = 100;
const REPEATS = loadBenchConfig().repeats;

function bareSpawn(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('true', [], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`true exited with ${code}`))));
  });
}

async function timed(run: () => Promise<void>): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < COMMANDS; i++) await run();
  return performance.now() - started;
}

export const suite: BenchSuite = {
  name: 'exec-overhead',
  description: `${COMMANDS} no-op commands through the exec capability's activity against a bare child_process.spawn loop`,
  async run(): Promise<BenchReport> {
    const workspaceRoot = mkdtempSync(path.join(tmpdir(), 'ados-bench-exec-'));
    const database = await benchDatabase();
    const handle = await openDatabase(database.url, { poolSize: 1 });
    try {
      // The database is the worker's dependency; exec itself writes nothing to it.
      const activities = createCapabilityActivities('exec', {
        db: handle.db,
        logger: createLogger('bench-exec', 'warn'),
        workerIdentity: `bench-${process.pid}@${hostname()}`,
        workspaceRoot,
      });
      const environment = new MockActivityEnvironment({ startToCloseTimeoutMs: 3_600_000, currentAttemptScheduledTimestampMs: Date.now(), heartbeatTimeoutMs: 10_000 });
      let heartbeats = 0;
      environment.on('heartbeat', () => heartbeats++);
      let task = 0;
      const throughAdos = async () => {
        const request: CapabilityRequest = {
          tenantId: 'bench',
          workflowId: 'bench-exec-overhead',
          runId: 'r1',
          taskId: `t${task++}`,
          environment: 'dev',
          input: { argv: ['true'] },
          upstream: {},
        };
        const result = (await environment.run(activities.exec, request)) as CapabilityResult;
        if ((result.output as { exitCode: number }).exitCode !== 0) throw new Error('true failed through exec');
      };

      // One warm-up round each (module loading, first spawn), not counted.
      await timed(throughAdos);
      await timed(bareSpawn);
      heartbeats = 0;
      const ados: number[] = [];
      const bare: number[] = [];
      for (let repeat = 0; repeat < REPEATS; repeat++) {
        if (repeat % 2 === 0) {
          ados.push(await timed(throughAdos));
          bare.push(await timed(bareSpawn));
        } else {
          bare.push(await timed(bareSpawn));
          ados.push(await timed(throughAdos));
        }
      }
      const adosMs = median(ados);
      const bareMs = median(bare);
      return {
        benchmark: 'exec-overhead',
        description: this.description,
        metrics: [
          { name: 'ADOS / bare (median of runs)', value: Number((adosMs / bareMs).toFixed(3)), unit: 'ratio', target: { op: '<=', value: 1.3 } },
          { name: `ADOS: ${COMMANDS} commands`, value: Number(adosMs.toFixed(1)), unit: 'ms' },
          { name: `bare spawn: ${COMMANDS} commands`, value: Number(bareMs.toFixed(1)), unit: 'ms' },
          { name: 'ADOS per command', value: Number((adosMs / COMMANDS).toFixed(3)), unit: 'ms' },
          { name: 'bare per command', value: Number((bareMs / COMMANDS).toFixed(3)), unit: 'ms' },
          { name: 'heartbeats per command (ADOS)', value: Number((heartbeats / (COMMANDS * REPEATS)).toFixed(2)), unit: 'count' },
        ],
        notes: [
          `${REPEATS} runs of each side, alternating (which goes first alternates too), after one warm-up run each; ${COMMANDS} commands per run, one at a time.`,
          'ADOS side: the exec activity as a capability worker registers it, run in MockActivityEnvironment (a real activity Context, no Temporal server); Temporal dispatch is measured by routing-overhead.',
          'Bare side: child_process.spawn("true", { stdio: "ignore" }), awaiting exit.',
          `Worker database (unused by exec): ${database.kind}. Workspaces under the OS temp dir.`,
        ],
        samples: { adosMs: ados, bareMs: bare },
      };
    } finally {
      await handle.close();
      await database.stop();
      rmSync(workspaceRoot, { recursive: true, force: true });
    }
  },
};
