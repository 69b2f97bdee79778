/**
 * `npm run bench -- exec-overhead`: what the `exec` capability adds to running a command. 100 no-op commands
 * (`true`) one after another, through the exec activity exactly as a capability worker registers it
 * (createCapabilityActivities('exec'): runCapability's input parsing, the fresh per-attempt workspace, then exec's
 * environment allowlist, log file, detached process group, heartbeat, leftover check and log tail), against a bare
 * loop of `child_process.spawn('true')` awaiting each exit. Target: ADOS / bare ≤ 1.3.
 *
 * The ADOS side starts commands as a worker does by default (ADOS_EXEC_LAUNCHER=auto: ados-spawner when
 * deploy/bootstrap.mjs built it, shared/node/process/spawner.ts says why); a third side, informative and without a
 * target, runs the same activity with ADOS_EXEC_LAUNCHER=node (Node's spawn, the fallback without a C compiler).
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
import { configuredLauncher } from '../../shared/node/process/spawner';
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
      const defaultLauncher = configuredLauncher({});
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

      // The same activity with Node's spawn: the launcher is looked up per command from ADOS_EXEC_LAUNCHER.
      const throughAdosWithNode = async () => {
        process.env.ADOS_EXEC_LAUNCHER = 'node';
        try {
          await throughAdos();
        } finally {
          delete process.env.ADOS_EXEC_LAUNCHER;
        }
      };
      const sides = [
        { run: throughAdos, samples: [] as number[] },
        { run: bareSpawn, samples: [] as number[] },
        { run: throughAdosWithNode, samples: [] as number[] },
      ];
      // One warm-up round each (module loading, first spawn, the spawner's start), not counted.
      for (const side of sides) await timed(side.run);
      heartbeats = 0;
      for (let repeat = 0; repeat < REPEATS; repeat++) {
        // Each repeat starts with a different side, so that none always runs first.
        for (let k = 0; k < sides.length; k++) {
          const side = sides[(repeat + k) % sides.length];
          side.samples.push(await timed(side.run));
        }
      }
      const [ados, bare, adosNode] = sides.map((side) => side.samples);
      const adosNodeMs = median(adosNode);
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
          { name: 'ADOS with ADOS_EXEC_LAUNCHER=node / bare (median of runs)', value: Number((adosNodeMs / bareMs).toFixed(3)), unit: 'ratio' },
          { name: 'ADOS with ADOS_EXEC_LAUNCHER=node per command', value: Number((adosNodeMs / COMMANDS).toFixed(3)), unit: 'ms' },
          { name: 'heartbeats per command (ADOS)', value: Number((heartbeats / (2 * COMMANDS * REPEATS)).toFixed(2)), unit: 'count' },
        ],
        notes: [
          `${REPEATS} runs of each side, in rotation (which goes first rotates too), after one warm-up run each; ${COMMANDS} commands per run, one at a time.`,
          `ADOS side: ADOS_EXEC_LAUNCHER=auto, which here is ${defaultLauncher.kind === 'spawner' ? `ados-spawner (${path.relative(process.cwd(), defaultLauncher.path)})` : "Node's spawn (no ados-spawner built)"}; the informative side sets ADOS_EXEC_LAUNCHER=node.`,
          'ADOS side: the exec activity as a capability worker registers it, run in MockActivityEnvironment (a real activity Context, no Temporal server); Temporal dispatch is measured by routing-overhead.',
          'Bare side: child_process.spawn("true", { stdio: "ignore" }), awaiting exit.',
          `Worker database (unused by exec): ${database.kind}. Workspaces under the OS temp dir.`,
        ],
        samples: { adosMs: ados, bareMs: bare, adosNodeMs: adosNode },
      };
    } finally {
      await handle.close();
      await database.stop();
      rmSync(workspaceRoot, { recursive: true, force: true });
    }
  },
};
