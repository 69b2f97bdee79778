/**
 * The `exec` and `http` capabilities on real processes, through delivery runs on a Temporal dev server (real time:
 * the commands' timeouts and heartbeats are real) with real PostgreSQL. Most cases run the stack in this process
 * (test/helpers/stack.ts); the crash case serves `exec` from `ados worker` processes only, and SIGKILLs the one
 * running the command.
 *
 * Commands that fork a grandchild write the pids to a marks directory; "no orphan" is checked by pid
 * (processAlive: kill(pid, 0), a zombie counting as gone, see shared/node/process/process-group.ts).
 */
import fs from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { controlTaskQueue } from '../../shared/contract/task-queues';
import { processAlive } from '../../shared/node/process/process-group';
import { eventually, sleep } from '../helpers/eventually';
import { startPostgresServer, type PostgresServer } from '../helpers/postgres-server';
import { cleanEnv, ManagedProcess } from '../helpers/processes';
import { bundleWorkflows, installQuietRuntime, startStack, type AdosStack } from '../helpers/stack';
import { createDevServerEnv, PROJECT_ROOT } from '../helpers/toolchain';

const suffix = () => Math.random().toString(36).slice(2, 8);
const tmpDir = path.join(PROJECT_ROOT, '.ados', 'tmp', `capability-exec-${process.pid}-${suffix()}`);

let env: TestWorkflowEnvironment;
let pg: PostgresServer;
let stack: AdosStack;
/** A second stack whose `exec` is served only by worker processes (the crash case). */
let processStack: AdosStack;
const processes: ManagedProcess[] = [];

beforeAll(async () => {
  installQuietRuntime();
  fs.mkdirSync(tmpDir, { recursive: true });
  const [workflowBundle, devEnv, server] = await Promise.all([bundleWorkflows(), createDevServerEnv(), startPostgresServer({ database: 'ados_capability_exec' })]);
  env = devEnv;
  pg = server;
  stack = await startStack({ env, workflowBundle, databaseUrl: pg.url, capabilities: ['exec', 'http'] });
  processStack = await startStack({ env, workflowBundle, databaseUrl: pg.url, capabilities: ['http'] });
}, 180_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL', 5_000)));
  await stack?.shutdown();
  await processStack?.shutdown();
  await env?.teardown();
  await pg?.stop();
  fs.rmSync(tmpDir, { recursive: true, force: true });
}, 60_000);

/** A fresh directory the command writes its pids to. */
function marksDir(): string {
  const dir = path.join(tmpDir, `marks-${suffix()}`);
  fs.mkdirSync(dir);
  return dir;
}

/** The pids in `file` (one a line), once it has `count`. */
function pidsIn(file: string, count = 1): Promise<number[]> {
  return eventually(`${count} pid(s) in ${file}`, 30_000, async () => {
    const pids = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter((l) => /^\d+$/.test(l)).map(Number) : [];
    return pids.length >= count ? pids : undefined;
  }, 50);
}

/** Forks `sleep 300` into the background, records both pids, and waits for it. */
const FORKING_SCRIPT = 'sleep 300 & echo $! >> "$MARKS/grandchild.pids"; echo $$ >> "$MARKS/child.pids"; wait';

function runInput(s: AdosStack, runId: string, task: Record<string, unknown>) {
  return {
    tenantId: 'exec_t',
    runId,
    requestedBy: 'capability-exec-test',
    environments: ['dev'],
    goal: { type: 'build', complexity: 'low', risk: 'low', maxCost: 1 },
    plan: { tasks: [{ id: 'task', ...task }] },
  };
}

async function succeeded(s: AdosStack, task: Record<string, unknown>): Promise<Record<string, unknown>> {
  const { workflowId } = await s.startRun(runInput(s, `ok-${suffix()}`, task));
  const result = await s.result(workflowId);
  expect(result).toMatchObject({ outcome: 'succeeded' });
  return result.outputs.task as Record<string, unknown>;
}

/** Starts a run whose task will fail, waits until the ladder hands it to a human, returns its error; ends the run. */
async function escalatedError(s: AdosStack, task: Record<string, unknown>, options: { direct?: boolean } = {}): Promise<string> {
  const runId = `fail-${suffix()}`;
  let workflowId: string;
  if (options.direct) {
    // Straight to the workflow, past the client's own validation: what the capability itself refuses.
    workflowId = `delivery-exec_t-${runId}`;
    await s.client.workflow.start('deliveryRun', { taskQueue: controlTaskQueue(s.taskQueuePrefix), workflowId, args: [runInput(s, runId, task)] });
  } else {
    ({ workflowId } = await s.startRun(runInput(s, runId, task)));
  }
  const status = await s.waitForStatus(workflowId, (st) => st.tasks.dev?.task?.state === 'escalated', 60_000);
  await s.client.workflow.getHandle(workflowId).terminate('test done');
  return status.tasks.dev!.task.error ?? '';
}

const alive = (pids: number[]) => pids.filter(processAlive);

describe('exec', () => {
  test('runs argv without a shell in the workspace, with only the allowed environment; hashes the declared outputs', async () => {
    process.env.EXEC_TEST_WORKER_SECRET = 'must-not-pass';
    try {
      const output = await succeeded(stack, {
        capability: 'exec',
        input: {
          argv: ['sh', '-c', 'mkdir -p dist && printf hello > dist/a.txt && printf x > dist/b.bin && echo "greeting=$GREETING secret=${EXEC_TEST_WORKER_SECRET:-none} home=${HOME:-none}" && pwd'],
          env: { GREETING: 'hi' },
          outputs: ['dist/*.txt'],
        },
      });
      expect(output).toMatchObject({
        exitCode: 0,
        outputs: [{ path: 'dist/a.txt', sha256: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824', bytes: 5 }],
      });
      const [line, cwd] = String(output.tail).trim().split('\n');
      expect(line).toBe('greeting=hi secret=none home=none');
      expect(cwd).toBe(path.dirname(String(output.log)));
      expect(path.basename(cwd)).toBe('attempt-1');
      expect(fs.readFileSync(String(output.log), 'utf8')).toBe(`${output.tail}`);
    } finally {
      delete process.env.EXEC_TEST_WORKER_SECRET;
    }
  });

  test('a non-zero exit fails the task with the exit code and the log tail', async () => {
    const error = await escalatedError(stack, {
      capability: 'exec',
      retry: { maximumAttempts: 1 },
      input: { argv: ['sh', '-c', 'echo compiling; echo "error: missing semicolon" >&2; exit 3'] },
    });
    expect(error).toContain('task "task" (exec): "sh" exited with code 3; log tail:\ncompiling\nerror: missing semicolon');
  });

  test('a declared output the command did not write fails naming input.outputs', async () => {
    const error = await escalatedError(stack, { capability: 'exec', input: { argv: ['true'], outputs: ['dist/*.js'] } });
    expect(error).toContain('input.outputs: "dist/*.js" matched no file');
  });

  test('timeoutSeconds: the whole process group is stopped, grandchild included', async () => {
    const marks = marksDir();
    const error = await escalatedError(stack, {
      capability: 'exec',
      retry: { maximumAttempts: 1 },
      input: { argv: [FORKING_SCRIPT], shell: true, env: { MARKS: marks }, timeoutSeconds: 1, killGraceSeconds: 1 },
    });
    expect(error).toContain('"/bin/sh" ran past its 1.0 s and its process group was stopped');
    // Every attempt the ladder made (the first, and the mutate rung's) forked; none left anything behind.
    const children = await pidsIn(path.join(marks, 'child.pids'));
    const grandchildren = await pidsIn(path.join(marks, 'grandchild.pids'), children.length);
    expect(alive([...children, ...grandchildren])).toEqual([]);
  });

  test('cancelling the run stops the running command\'s process group, grandchild included', async () => {
    const marks = marksDir();
    const { workflowId, handle } = await stack.startRun(
      runInput(stack, `cancel-${suffix()}`, { capability: 'exec', heartbeatTimeoutSeconds: 2, input: { argv: [FORKING_SCRIPT], shell: true, env: { MARKS: marks } } }),
    );
    const [child] = await pidsIn(path.join(marks, 'child.pids'));
    const [grandchild] = await pidsIn(path.join(marks, 'grandchild.pids'));
    expect(alive([child, grandchild])).toEqual([child, grandchild]);
    await handle.cancel();
    // Temporal delivers the cancellation with the next heartbeat's answer (at most 0.8 × 2 s later).
    await eventually('the group to be gone', 30_000, async () => (alive([child, grandchild]).length === 0 ? true : undefined), 100);
    await stack.result(workflowId).catch(() => undefined);
  });

  test.each([
    ['argv that is not an array of strings', { argv: 'touch "$MARKS/ran"' }, 'input.argv: give the command as an array of strings, e.g. ["npm", "test"]'],
    ['argv holding a number', { argv: ['touch', 7] }, 'input.argv[1]: each argument must be a string'],
    ['a cwd escaping the workspace', { argv: ['sh', '-c', 'touch "$MARKS/ran"'], cwd: '../../..' }, 'input.cwd: "../../.." climbs out of the attempt\'s workspace'],
    ['a program that does not exist', { argv: ['no-such-program-ados'] }, 'input.argv[0]: "no-such-program-ados" was not found on the command\'s PATH'],
  ])('%s is refused naming the field, before anything runs', async (_name, input, message) => {
    const marks = marksDir();
    const error = await escalatedError(stack, { capability: 'exec', input: { ...input, env: { MARKS: marks } } }, { direct: true });
    expect(error).toContain(`task "task" (exec): ${message}`);
    expect(fs.readdirSync(marks)).toEqual([]);
  });
});

describe('exec: SIGKILL the worker running the command', () => {
  function startExecWorker(identity: string): ManagedProcess {
    const proc = new ManagedProcess(`worker ${identity}`, ['worker', '--capabilities', 'exec', '--identity', identity, '--max-concurrent', '1'], cleanEnv({
      TEMPORAL_ADDRESS: env.address,
      DATABASE_URL: pg.url,
      ADOS_TASK_QUEUE_PREFIX: processStack.taskQueuePrefix,
      ADOS_WORKSPACE_DIR: path.join(tmpDir, 'workspaces'),
      LOG_LEVEL: 'info',
    }));
    processes.push(proc);
    return proc;
  }

  test('the retry reaps the crashed attempt\'s process group (no orphan) and runs again in a clean workspace', async () => {
    const workers = [startExecWorker('exec-a'), startExecWorker('exec-b')];
    try {
      await Promise.all(workers.map((w) => w.waitForOutput('"msg":"worker polling"', 120_000)));
      const marks = marksDir();
      // The first attempt leaves a file in its workspace and hangs with a grandchild; the retry lists its workspace.
      const script = `if [ -e "$MARKS/first" ]; then ls -A > listing.txt; exit 0; fi; touch "$MARKS/first" leftover.txt; ${FORKING_SCRIPT}`;
      const { workflowId } = await processStack.startRun(
        runInput(processStack, `crash-${suffix()}`, {
          capability: 'exec',
          heartbeatTimeoutSeconds: 3,
          input: { argv: [script], shell: true, env: { MARKS: marks }, outputs: ['listing.txt'] },
        }),
      );
      const [child] = await pidsIn(path.join(marks, 'child.pids'));
      const [grandchild] = await pidsIn(path.join(marks, 'grandchild.pids'));
      // The command's parent is the worker process running the attempt, or that worker's ados-spawner
      // (shared/node/process/spawner.ts), whose parent is the worker.
      const parentOf = (pid: number) => Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      const parent = parentOf(child);
      const holder = workers.find((w) => w.pid === parent || w.pid === parentOf(parent));
      expect(holder).toBeDefined();
      const other = workers.find((w) => w !== holder)!;
      // Heartbeats carry the group; give the first one time to reach the server before the crash.
      await sleep(500);
      holder!.child.kill('SIGKILL');
      expect((await holder!.exited).signal).toBe('SIGKILL');
      // The worker died; its command's group did not (it is detached): only the retry can stop it.
      expect(alive([child, grandchild])).toEqual([child, grandchild]);

      const result = await processStack.result(workflowId);
      expect(result).toMatchObject({ outcome: 'succeeded' });
      const output = result.outputs.task as Record<string, unknown>;
      expect(output).toMatchObject({ exitCode: 0, reapedGroup: child });
      expect(alive([child, grandchild])).toEqual([]);
      // attempt-2's workspace: nothing of attempt 1 (leftover.txt) in it.
      const workspace = path.dirname(String(output.log));
      expect(path.basename(workspace)).toBe('attempt-2');
      expect(fs.readFileSync(path.join(workspace, 'listing.txt'), 'utf8').trim().split('\n')).toEqual(['exec.log', 'listing.txt']);
      expect(fs.existsSync(path.join(path.dirname(workspace), 'attempt-1', 'leftover.txt'))).toBe(true);
      expect(other.stderr).toContain("stopped a previous attempt's process group before running again");
    } catch (error) {
      console.error(workers.map((w) => w.report()).join('\n'));
      throw error;
    } finally {
      await Promise.all(workers.map((w) => w.stop('SIGKILL', 5_000)));
    }
  }, 180_000);
});

describe('http', () => {
  let server: Server;
  let base: string;
  const seen: Array<{ method?: string; url?: string; headers: IncomingHttpHeaders; body: string }> = [];
  /** How the server answers, by path. */
  const answers = new Map<string, (count: number) => { status: number; body: string }>();

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body });
        const count = seen.filter((s) => s.url === req.url).length;
        const answer = answers.get(req.url ?? '')?.(count) ?? { status: 404, body: 'no such path' };
        res.writeHead(answer.status, { 'content-type': 'text/plain', 'x-served-by': 'test' });
        res.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('a POST answered with the expected status: response recorded, Idempotency-Key stable across a retry', async () => {
    answers.set('/deploy-hook', (count) => (count === 1 ? { status: 503, body: 'busy' } : { status: 201, body: 'created' }));
    const output = await succeeded(stack, { capability: 'http', input: { method: 'POST', url: `${base}/deploy-hook`, json: { release: 'r1' }, expectStatus: 201 } });
    const calls = seen.filter((s) => s.url === '/deploy-hook');
    expect(calls).toHaveLength(2);
    expect(calls.map((c) => c.headers['idempotency-key'])).toEqual([output.idempotencyKey, output.idempotencyKey]);
    expect(calls[1]).toMatchObject({ method: 'POST', body: '{"release":"r1"}', headers: { 'content-type': 'application/json' } });
    expect(output).toMatchObject({ status: 201, body: 'created', bodyBytes: 7, truncated: false, headers: { 'x-served-by': 'test' } });
  });

  test('the body kept in the output is capped at maxBodyBytes (64 kB by default)', async () => {
    answers.set('/big', () => ({ status: 200, body: 'x'.repeat(200_000) }));
    const output = await succeeded(stack, { capability: 'http', input: { url: `${base}/big` } });
    expect(output).toMatchObject({ status: 200, bodyBytes: 65_536, truncated: true });
    expect(String(output.body)).toHaveLength(65_536);
  });

  test('an unexpected 4xx fails without a retry, with the status', async () => {
    const before = seen.filter((s) => s.url === '/missing').length;
    const error = await escalatedError(stack, { capability: 'http', input: { url: `${base}/missing` } });
    expect(error).toContain(`GET ${base}/missing answered 404, expected 2xx: no such path`);
    expect(seen.filter((s) => s.url === '/missing').length - before).toBe(2); // the first attempt, and the mutate rung's
  });

  test('a host outside ADOS_HTTP_ALLOWED_HOSTS is refused naming the setting, and nothing is sent', async () => {
    const error = await escalatedError(stack, { capability: 'http', input: { url: 'http://192.0.2.10/hook' } });
    expect(error).toContain('input.url: host 192.0.2.10 is not allowed by ADOS_HTTP_ALLOWED_HOSTS (127.0.0.0/8,::1,localhost)');
  });
});
