/**
 * `npm run chaos -- --runs 50 --kill-every 5s --duration 3m`: delivery runs under fire.
 *
 * Starts the stack as processes (bench/lib/process-stack.ts: Temporal dev server on a file, the benchmark database of
 * bench/lib/database.ts, the control worker, --workers capability workers serving batch, build and deploy), starts --runs delivery runs
 * (build → batch → deploy in dev and stage, no prod) spread over the first 60 % of --duration, and meanwhile
 * SIGKILLs a random capability worker every --kill-every (starting a replacement at once) and kill -9's the Temporal
 * server once (at --restart-at of the duration), starting it again on the same file. Then it stops the chaos, waits
 * up to --drain for the runs to finish, and reports (stdout, and bench/results/chaos.{md,json}):
 *
 *   runs completed / failed / stuck, missing effects and releases (must be 0), kill → resumed attempt (mean, median,
 *   max, from the attempts table), duplicate writes the unique constraints refused (items redone, per killed attempt
 *   and in all; releases found already recorded), writes refused by the fence.
 *
 * Options: --workers 3, --items 3000 (a batch task gets between half of it and all of it), --checkpoint-every 250,
 * --item-work-ms 2, --restart-at 0.5, --drain 3m, --dir <path> (default a temp dir). Tasks retry up to 20 times here
 * (a run should survive many kills).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { sql } from 'kysely';
import { startDeliveryRun } from '../client/delivery';
import { CAPABILITIES } from '../shared/contract/capabilities';
import { median, writeReport, type BenchMetric } from './harness';
import { effectsAccount } from './lib/effects-account';
import { failoversAfterKill, parseDuration, startProcessStack, waitReady, type Failover, type ProcessStack } from './lib/process-stack';

interface ChaosOptions {
  runs: number;
  killEveryMs: number;
  durationMs: number;
  workers: number;
  items: number;
  checkpointEvery: number;
  itemWorkMs: number;
  restartAt: number;
  drainMs: number;
  dir: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const t0 = Date.now();
const say = (line: string) => process.stdout.write(`[chaos +${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}\n`);

function parseOptions(argv: string[]): ChaosOptions {
  const positiveInt = (name: string) => (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: "${value}" is not a whole number of at least 1`);
    return n;
  };
  const program = new Command('chaos')
    .option('--runs <n>', 'delivery runs to start', positiveInt('runs'), 50)
    .option('--kill-every <duration>', 'SIGKILL a random capability worker this often', '5s')
    .option('--duration <duration>', 'how long the chaos lasts', '3m')
    .option('--workers <n>', 'capability workers alive at once', positiveInt('workers'), 3)
    .option('--items <n>', 'items per batch task (between half of it and all of it)', positiveInt('items'), 3000)
    .option('--checkpoint-every <n>', 'batch checkpoint interval', positiveInt('checkpoint-every'), 250)
    .option('--item-work-ms <ms>', 'simulated work per item', (v) => Number(v), 2)
    .option('--restart-at <fraction>', 'when to kill -9 and restart the Temporal server (0..1 of the duration; 0 = never)', (v) => Number(v), 0.5)
    .option('--drain <duration>', 'how long to wait for runs to finish after the chaos', '3m')
    .option('--dir <path>', 'where the Temporal file and the logs go')
    .exitOverride();
  program.parse(argv, { from: 'user' });
  const o = program.opts<{
    runs: number; killEvery: string; duration: string; workers: number; items: number; checkpointEvery: number;
    itemWorkMs: number; restartAt: number; drain: string; dir?: string;
  }>();
  if (!(o.restartAt >= 0 && o.restartAt < 1)) throw new Error(`--restart-at: ${o.restartAt} is not between 0 and 1`);
  if (!(o.itemWorkMs >= 0)) throw new Error(`--item-work-ms: ${o.itemWorkMs} is not zero or more`);
  return {
    runs: o.runs,
    killEveryMs: parseDuration(o.killEvery, '--kill-every'),
    durationMs: parseDuration(o.duration, '--duration'),
    workers: o.workers,
    items: o.items,
    checkpointEvery: o.checkpointEvery,
    itemWorkMs: o.itemWorkMs,
    restartAt: o.restartAt,
    drainMs: parseDuration(o.drain, '--drain'),
    dir: o.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ados-chaos-')),
  };
}

const CAPS = ['batch', 'build', 'deploy'];
const RETRY = { maximumAttempts: 20 };

function plan(options: ChaosOptions, index: number) {
  const items = Math.round(options.items / 2 + Math.random() * (options.items / 2));
  return {
    tenantId: 'chaos',
    runId: `chaos-${index}-${Date.now()}`,
    requestedBy: 'chaos',
    environments: ['dev', 'stage'],
    goal: { type: 'deploy', complexity: 'medium', risk: 'low', maxCost: 10 },
    plan: {
      tasks: [
        { id: 'build', capability: 'build', input: { name: `svc${index}` }, retry: RETRY },
        {
          id: 'batch',
          capability: 'batch',
          input: { items, checkpointEvery: options.checkpointEvery, itemWorkMs: options.itemWorkMs },
          dependsOn: ['build'],
          retry: RETRY,
        },
        { id: 'deploy', capability: 'deploy', input: { artifactFrom: 'build' }, dependsOn: ['build', 'batch'], retry: RETRY },
      ],
    },
  };
}

interface Kill {
  identity: string;
  at: number;
}

async function runChaos(options: ChaosOptions): Promise<void> {
  say(`starting the stack in ${options.dir}`);
  const stack: ProcessStack = await startProcessStack({ dir: options.dir, shutdownGrace: '10s', log: say });
  let nextWorker = 0;
  const spawnWorker = () => stack.startWorker(`chaos-w${++nextWorker}`, CAPS);
  const ready = new Set<string>();
  const watchReady = (identity: string) => {
    waitReady(stack.workers.get(identity)!).then(
      () => ready.add(identity),
      () => undefined,
    );
  };
  const workflowIds: string[] = [];
  const startErrors: string[] = [];
  const kills: Kill[] = [];
  let restart: { killedAt: number; upAt: number } | undefined;
  try {
    for (let i = 0; i < options.workers; i++) watchReady(spawnWorker().name);
    await Promise.all([...stack.workers.values()].map((w) => waitReady(w)));
    say(`${options.workers} capability workers up (${CAPS.join(', ')}); chaos for ${options.durationMs / 1000}s: ${options.runs} runs, a kill every ${options.killEveryMs / 1000}s`);
    const chaosStart = Date.now();
    const chaosEnd = chaosStart + options.durationMs;

    const starter = (async () => {
      const spacing = (options.durationMs * 0.6) / options.runs;
      for (let i = 0; i < options.runs; i++) {
        await sleep(Math.max(0, chaosStart + i * spacing - Date.now()));
        // The server may be down (restart): keep trying for a while.
        for (let tries = 0; ; tries++) {
          try {
            const started = await startDeliveryRun(stack.client, stack.config, plan(options, i));
            workflowIds.push(started.workflowId);
            break;
          } catch (error) {
            if (tries >= 60) {
              startErrors.push(`run ${i}: ${(error as Error).message}`);
              break;
            }
            await sleep(1000);
          }
        }
      }
      say(`${workflowIds.length} runs started`);
    })();

    const killer = (async () => {
      for (let next = chaosStart + options.killEveryMs; next < chaosEnd; next += options.killEveryMs) {
        await sleep(Math.max(0, next - Date.now()));
        const candidates = [...ready].filter((id) => stack.workers.get(id)?.running);
        if (candidates.length === 0) continue;
        const victim = candidates[Math.floor(Math.random() * candidates.length)];
        ready.delete(victim);
        stack.workers.get(victim)!.child.kill('SIGKILL');
        kills.push({ identity: victim, at: Date.now() });
        const replacement = spawnWorker();
        watchReady(replacement.name);
        say(`SIGKILL ${victim}; replacement ${replacement.name} starting`);
      }
    })();

    const restarter = (async () => {
      if (options.restartAt <= 0) return;
      await sleep(Math.max(0, chaosStart + options.durationMs * options.restartAt - Date.now()));
      say('kill -9 the Temporal server');
      restart = await stack.restartTemporal(2_000);
      say(`Temporal server back after ${((restart.upAt - restart.killedAt) / 1000).toFixed(1)}s`);
    })();

    await Promise.all([starter, killer, restarter]);
    say(`chaos over (${kills.length} kills); waiting up to ${options.drainMs / 1000}s for the runs to finish`);
    const drainEnd = Date.now() + options.drainMs;
    for (;;) {
      const open = workflowIds.length === 0 ? [] : await stack.db.selectFrom('runs').select('workflow_id').where('workflow_id', 'in', workflowIds).where('status', '=', 'running').execute();
      const recorded = workflowIds.length === 0 ? 0 : Number((await stack.db.selectFrom('runs').select((eb) => eb.fn.countAll().as('n')).where('workflow_id', 'in', workflowIds).executeTakeFirstOrThrow()).n);
      if ((open.length === 0 && recorded === workflowIds.length) || Date.now() > drainEnd) break;
      await sleep(1000);
    }

    await report(stack, options, { workflowIds, startErrors, kills, restart, chaosMs: Date.now() - chaosStart });
  } catch (error) {
    stack.saveLogs();
    throw error;
  } finally {
    stack.saveLogs();
    say(`process logs in ${path.join(options.dir, 'logs')}`);
    await stack.stop();
  }
}

async function report(
  stack: ProcessStack,
  options: ChaosOptions,
  data: { workflowIds: string[]; startErrors: string[]; kills: Kill[]; restart?: { killedAt: number; upAt: number }; chaosMs: number },
): Promise<void> {
  const { db } = stack;
  const ids = data.workflowIds.length > 0 ? data.workflowIds : ['-'];
  const runs = await db.selectFrom('runs').select(['workflow_id', 'status']).where('workflow_id', 'in', ids).execute();
  const status = new Map(runs.map((r) => [r.workflow_id, r.status]));
  const succeeded = data.workflowIds.filter((id) => status.get(id) === 'succeeded').length;
  const failed = data.workflowIds.filter((id) => status.has(id) && !['succeeded', 'running'].includes(status.get(id)!)).length;
  const stuck = data.workflowIds.length - succeeded - failed;
  const failedReasons = await db.selectFrom('runs').select(['workflow_id', 'result']).where('workflow_id', 'in', ids).where('status', 'not in', ['succeeded', 'running']).execute();

  const effects = await effectsAccount(db, data.workflowIds);
  // Releases: one per run and environment (unique); a deploy attempt that finds its release recorded says so (created: false).
  const releases = await sql<{ deploys: string; found: string; missing: string }>`
    SELECT count(*) AS deploys,
           count(*) FILTER (WHERE t.output->>'created' = 'false') AS found,
           count(*) FILTER (WHERE r.id IS NULL) AS missing
    FROM tasks t
    LEFT JOIN releases r ON r.workflow_id = t.workflow_id AND r.environment = t.environment
    WHERE t.capability = 'deploy' AND t.state = 'succeeded' AND t.workflow_id IN (${sql.join(ids)})`.execute(db);

  // Kill → resumed attempt, from the attempts table.
  const failovers: Failover[] = [];
  for (const kill of data.kills) failovers.push(...(await failoversAfterKill(db, kill.identity, kill.at)));
  const resumed = failovers.filter((f) => f.latencyMs !== undefined);
  const latencies = resumed.map((f) => f.latencyMs! / 1000);
  const mean = latencies.length ? latencies.reduce((a, b) => a + b, 0) / latencies.length : 0;
  const restartWindow = data.restart ? (f: Failover) => f.killedAt >= data.restart!.killedAt - 12_000 && f.killedAt <= data.restart!.upAt : () => false;
  const awayFromRestart = resumed.filter((f) => !restartWindow(f)).map((f) => f.latencyMs! / 1000);
  const round = (n: number) => Number(n.toFixed(2));
  const heartbeat = CAPABILITIES.batch.heartbeatTimeoutSeconds;

  const redonePerKill = resumed.map((f) => f.redone ?? 0);

  const metrics: BenchMetric[] = [
    { name: 'runs started', value: data.workflowIds.length, unit: 'runs', target: { op: '>=', value: options.runs } },
    { name: 'runs completed', value: succeeded, unit: 'runs', target: { op: '>=', value: options.runs } },
    { name: 'runs failed', value: failed, unit: 'runs', target: { op: '<=', value: 0 } },
    { name: 'runs stuck (not finished after the drain)', value: stuck, unit: 'runs', target: { op: '<=', value: 0 } },
    { name: 'missing effects in finished batch tasks', value: effects.missingEffects, unit: 'items', target: { op: '<=', value: 0 } },
    { name: 'batch tasks finished', value: effects.batchTasksFinished, unit: 'tasks' },
    { name: 'finished deploys without their release', value: Number(releases.rows[0].missing), unit: 'deploys', target: { op: '<=', value: 0 } },
    { name: 'deploys finished', value: Number(releases.rows[0].deploys), unit: 'deploys' },
    { name: 'deploys that found their release already recorded (second insert refused by the unique constraint)', value: Number(releases.rows[0].found), unit: 'deploys' },
    { name: 'worker kills (SIGKILL)', value: data.kills.length, unit: 'kills' },
    { name: 'batch attempts killed in flight', value: failovers.length, unit: 'attempts' },
    { name: 'killed attempts resumed on another worker', value: resumed.length, unit: 'attempts', target: { op: '>=', value: failovers.length } },
    { name: 'kill → resumed attempt, mean', value: round(mean), unit: 's' },
    { name: 'kill → resumed attempt, median', value: round(latencies.length ? median(latencies) : 0), unit: 's' },
    { name: 'kill → resumed attempt, max', value: round(Math.max(0, ...latencies)), unit: 's' },
    { name: 'kill → resumed attempt, max (kills away from the server restart)', value: round(Math.max(0, ...awayFromRestart)), unit: 's' },
    { name: 'items redone per killed attempt (by the attempt that resumed it), median', value: redonePerKill.length ? median(redonePerKill) : 0, unit: 'items' },
    { name: 'items redone per killed attempt, max', value: Math.max(0, ...redonePerKill), unit: 'items', target: { op: '<=', value: options.checkpointEvery } },
    { name: 'item writes refused as duplicates by the unique constraint (redone, all attempts)', value: effects.duplicateWritesRefused, unit: 'items' },
    { name: 'items redone by one attempt, max', value: effects.maxRedoneByOneAttempt, unit: 'items', target: { op: '<=', value: options.checkpointEvery } },
    { name: 'batch attempts', value: effects.attempts, unit: 'attempts' },
    // Kills leave an attempt open (no outcome); an error (e.g. from the database) closes it as failed.
    { name: 'batch attempts failed with an error', value: effects.attemptsFailed, unit: 'attempts', target: { op: '<=', value: 0 } },
    { name: 'writes refused by the fence (claims, effects, checkpoints)', value: effects.fencedWrites, unit: 'writes' },
    { name: 'effect items in writes refused by the fence', value: effects.fencedItems, unit: 'items' },
    { name: 'Temporal server down (kill -9 → answering again)', value: data.restart ? round((data.restart.upAt - data.restart.killedAt) / 1000) : 0, unit: 's' },
  ];
  const notes = [
    `Command: npm run chaos -- --runs ${options.runs} --kill-every ${options.killEveryMs / 1000}s --duration ${options.durationMs / 1000}s --workers ${options.workers} --items ${options.items} --checkpoint-every ${options.checkpointEvery} --item-work-ms ${options.itemWorkMs} --restart-at ${options.restartAt} --drain ${options.drainMs / 1000}s; database: ${stack.database}.`,
    `Plans: build → batch → deploy in dev and stage; tasks retry up to ${RETRY.maximumAttempts} times; batch heartbeatTimeout ${heartbeat} s (registry), retry initial interval ${CAPABILITIES.batch.retry.initialIntervalSeconds} s ×${CAPABILITIES.batch.retry.backoffCoefficient} per attempt.`,
    'A duplicate effect or release cannot exist (unique constraints); what the tables say instead is how much was redone: an attempt that resumes writes again the items its killed predecessor wrote past the last checkpoint, and the constraint skips them (task_attempts.redone). Missing effects and releases are what could go wrong.',
    'Kill → resumed attempt: from the chaos tool\'s kill time to task_attempts.started_at of the next attempt of each batch attempt the killed worker had in flight. It includes the heartbeat timeout and the retry backoff (which grows for a task killed several times), and, for kills around the server restart, the outage.',
    `Chaos lasted ${round(data.chaosMs / 1000)} s including the drain.`,
    ...data.startErrors.map((e) => `start error: ${e}`),
    ...failedReasons.map((r) => `failed: ${r.workflow_id}: ${JSON.stringify((r.result as { reason?: string } | null)?.reason ?? r.result)}`),
  ];
  const paths = writeReport({
    benchmark: 'chaos',
    description: `Delivery runs while capability workers are SIGKILLed every ${options.killEveryMs / 1000} s and the Temporal server is killed -9 and restarted once.`,
    metrics,
    notes,
    samples: { killToResumedAttemptSeconds: latencies, redonePerKilledAttempt: redonePerKill },
  });
  process.stdout.write(`\n${fs.readFileSync(paths.markdown, 'utf8')}\n`);
  say(`report: ${paths.markdown}`);
}

runChaos(parseOptions(process.argv.slice(2))).then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`[chaos] failed: ${(error as Error).stack ?? error}\n`);
    process.exit(1);
  },
);
