/**
 * `npm start`: the embedded stack on this machine. Temporal dev server (SQLite file + Web UI),
 * PostgreSQL (PGlite over the wire protocol, or DATABASE_URL), migrations, the control worker, the
 * capability worker pools (one of them the sample's: exec, deploy.process, verify.http), and the sample
 * run (examples/delivery-plan.yaml), which ships examples/service and waits for approval before prod.
 * Ctrl-C stops it all, the services deploy.process started included.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join, relative, resolve } from 'node:path';
import { Connection, Client } from '@temporalio/client';
import { ADOS_SEARCH_ATTRIBUTES } from '../shared/contract/search-attributes';
import { loadConfig } from '../shared/node/config';
import { migrateToLatest, openDatabase, startEmbeddedPostgres } from '../shared/node/db';
import { processRuntime } from '../shared/node/runtime';
import { ensureSearchAttributes } from '../workers/search-attributes';
import { ensureSchedule, transferScheduleOptions } from '../shared/node/schedules/schedules';
import { loadTransferScheduleConfig } from '../shared/node/schedules/spec';
import { loadStrategyTrainingScheduleConfig, strategyTrainingScheduleOptions } from '../shared/node/learning/strategy/training-schedule';
import { listPending } from '../client/common/pending';
import { startDeliveryRun } from '../client/delivery';
import { readInputFile } from '../client/plan-file';
import { devServerDynamicConfigArgs, PROJECT_ROOT, temporalCliPath } from './toolchain';

let stopping = false;
const say = (line: string) => process.stdout.write(`[ados] ${line}\n`);

function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

async function waitFor<T>(what: string, attempt: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what} did not come up within ${timeoutMs / 1000}s: ${(error as Error).message}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** The prod port of the sample plan's deploy.process task (what the printed curl asks). */
function sampleProdPort(plan: unknown): number | undefined {
  const tasks = (plan as { plan?: { tasks?: { capability?: string; input?: { port?: unknown } }[] } }).plan?.tasks ?? [];
  const port = tasks.find((task) => task.capability === 'deploy.process')?.input?.port;
  return typeof port === 'number' ? port : (port as { prod?: number } | undefined)?.prod;
}

async function main(): Promise<void> {
  const config = loadConfig();
  const dataDir = resolve(PROJECT_ROOT, config.dataDir);
  const logDir = join(dataDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const temporalCli = temporalCliPath();
  const children: ChildProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  const [host, portText] = config.temporalAddress.split(':');
  const temporalPort = Number(portText);
  const uiPort = Number(new URL(config.webUiUrl).port || 8233);
  for (const [port, what] of [[temporalPort, 'Temporal'], [uiPort, 'the Web UI']] as const) {
    if (await portInUse(port, host)) {
      throw new Error(`port ${port} (${what}) is already in use: is another \`npm start\` running? Stop it, or set TEMPORAL_ADDRESS / ADOS_WEB_UI_URL`);
    }
  }

  const spawnLogged = (name: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env) => {
    const log = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
    // The project root: deploy.process reads the sample's artifactDir relative to the worker's working directory.
    const child = spawn(command, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    child.on('exit', (code, signal) => {
      if (!stopping) say(`${name} exited (${signal ?? code}); see ${join(logDir, `${name}.log`)}`);
    });
    children.push(child);
    return child;
  };

  // 1. Temporal dev server, persisted to a SQLite file so runs survive a restart of the stack.
  say(`starting Temporal dev server on ${config.temporalAddress} (history in ${join(dataDir, 'temporal.db')})`);
  spawnLogged('temporal', temporalCli, [
    'server', 'start-dev',
    '--ip', host,
    '--port', String(temporalPort),
    '--ui-port', String(uiPort),
    '--namespace', config.temporalNamespace,
    '--db-filename', join(dataDir, 'temporal.db'),
    '--log-level', 'warn',
    ...ADOS_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${key.type === 'BOOL' ? 'Bool' : 'Keyword'}`]),
    ...devServerDynamicConfigArgs(),
  ]);
  const connection = await waitFor('Temporal', () => Connection.connect({ address: config.temporalAddress, connectTimeout: '1s' }), 60_000);
  await waitFor('Temporal namespace', () => connection.workflowService.getSystemInfo({}), 30_000);
  await ensureSearchAttributes(connection.operatorService, config.temporalNamespace);
  cleanups.push(() => connection.close());

  // 2. PostgreSQL: the given server, or PGlite persisted under the data dir and served on loopback.
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl || databaseUrl.startsWith('pglite:')) {
    const port = config.embeddedDbPort;
    if (await portInUse(port)) throw new Error(`port ${port} (embedded PostgreSQL) is in use; set ADOS_EMBEDDED_DB_PORT to a free port`);
    const pgDir = databaseUrl?.slice('pglite:'.length) || join(dataDir, 'pgdata');
    say(`starting embedded PostgreSQL (PGlite, data in ${pgDir}) on 127.0.0.1:${port}`);
    const embedded = await startEmbeddedPostgres({ dataDir: pgDir, port });
    databaseUrl = embedded.url;
    cleanups.push(embedded.stop);
  }
  const database = await openDatabase(databaseUrl, { poolSize: 2 });
  const applied = await migrateToLatest(database.db);
  say(`database ready (${applied.length > 0 ? `applied ${applied.join(', ')}` : 'schema up to date'})`);
  await database.close();

  // 3. Workers: the control worker and two capability pools, each its own process.
  const ados = join(PROJECT_ROOT, 'client', 'bin', 'ados.cjs');
  const workerEnv = { ...process.env, DATABASE_URL: databaseUrl, ADOS_DATA_DIR: dataDir };
  spawnLogged('worker-control', process.execPath, [ados, 'worker', '--role', 'control'], workerEnv);
  // demo.text and its fallback variant live in different pools, so that the escalation ladder's agent swap crosses pools.
  spawnLogged('worker-build-deploy', process.execPath, [ados, 'worker', '--capabilities', 'build,deploy,demo.text'], workerEnv);
  spawnLogged('worker-verify-analysis', process.execPath, [ados, 'worker', '--capabilities', 'verify,analysis,demo.text.fallback,extract'], workerEnv);
  // The sample run's pool: it builds, tests, deploys and checks examples/service.
  // Its exec tasks run `npm run sample:*`, which finds the project's package.json above the attempt's workspace: so
  // its workspaces stay under the project when ADOS_DATA_DIR (or ADOS_WORKSPACE_DIR) points elsewhere.
  const shipWorkspaces = relative(PROJECT_ROOT, config.workspaceDir).startsWith('..') ? join(PROJECT_ROOT, '.ados', 'workspaces') : config.workspaceDir;
  spawnLogged('worker-ship', process.execPath, [ados, 'worker', '--capabilities', 'exec,deploy.process,verify.http'], { ...workerEnv, ADOS_WORKSPACE_DIR: shipWorkspaces });
  say(`workers starting (logs in ${logDir})`);

  // 4. A sample run that waits for approval before prod, unless one already does.
  const client = new Client({ connection, namespace: config.temporalNamespace });
  let sample: string | undefined;
  const samplePlan = readInputFile(join(PROJECT_ROOT, 'examples', 'delivery-plan.yaml'));
  if (config.sampleRun) {
    const pending = await listPending(client, config, 'acme');
    if (pending.length > 0) sample = pending[0].workflowId;
    else {
      const started = await startDeliveryRun(client, config, {
        ...(samplePlan as object),
        runId: `sample-${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}`,
      });
      sample = started.workflowId;
    }
  }

  // 5. ADOS's schedules (the transfer-learning cycles), created or brought to their configuration.
  const transferSchedule = transferScheduleOptions(loadTransferScheduleConfig(), config.taskQueuePrefix);
  say(`schedule ${transferSchedule.scheduleId}: ${await ensureSchedule(client, transferSchedule)}`);
  const trainingSchedule = strategyTrainingScheduleOptions(loadStrategyTrainingScheduleConfig(), config.taskQueuePrefix);
  say(`schedule ${trainingSchedule.scheduleId}: ${await ensureSchedule(client, trainingSchedule)}`);

  const cli = './client/bin/ados.cjs';
  say('');
  say(`ADOS is up.`);
  say(`  Temporal Web UI:  ${config.webUiUrl}/namespaces/${config.temporalNamespace}/workflows`);
  say(`  Temporal:         ${config.temporalAddress} (namespace ${config.temporalNamespace})`);
  say(`  PostgreSQL:       ${databaseUrl}`);
  say(`  Logs:             ${logDir}`);
  say('');
  say('Try, in another terminal (scoped to tenant acme; admission reads PostgreSQL):');
  // `ados release list` reads the runtime under ADOS_DATA_DIR: another shell needs the same one.
  say(`  export ADOS_TENANT=acme DATABASE_URL=${databaseUrl}${process.env.ADOS_DATA_DIR ? ` ADOS_DATA_DIR=${dataDir}` : ''}`);
  if (sample) {
    say(`  ${cli} run status ${sample}`);
    say(`  ${cli} pending`);
    say(`  ${cli} approve ${sample} --as alice --comment "ship it"`);
    say(`  curl http://127.0.0.1:${sampleProdPort(samplePlan)}/health        # prod answers once approved and deployed`);
    say(`  ${cli} release list --tenant acme --environment prod`);
  }
  say(`  ${cli} run start --file examples/delivery-plan.yaml`);
  say(`  ${cli} tenant show acme                       # budget, spend today and this month, alerts`);
  say(`  ${cli} workers                                  # who polls each capability, and the backlogs`);
  say(`  ${cli} schedule describe learning-transfer   # transfer-learning cycles every 12 h; ${cli} learn transfers`);
  say(`  ${cli} run start --file examples/demo-text-plan.yaml --wait   # the escalation ladder swaps demo.text to its fallback`);
  say(`  DATABASE_URL=${databaseUrl} ${cli} worker --capabilities build   # one more worker`);
  say('Ctrl-C stops the stack and the services deployed by deploy.process; runs in flight resume on the next npm start.');

  const stop = async () => {
    if (stopping) return;
    stopping = true;
    say('stopping...');
    for (const child of [...children].reverse()) child.kill('SIGTERM');
    await Promise.all(children.map((child) => new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)))));
    // Deployed services outlive workers, not the stack: their releases stay on disk, and the next deploy starts them.
    const stopped = await processRuntime({ dataDir }).stopAll().catch(() => []);
    if (stopped.length > 0) say(`stopped ${stopped.length} deployed service environment(s) (${stopped.map((r) => `${r.service}/${r.environment}`).join(', ')})`);
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error) => {
  process.stderr.write(`[ados] npm start failed: ${(error as Error).message}\n`);
  process.exit(1);
});
