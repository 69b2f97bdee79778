/** The CLI side of the escalation ladder: `ados resolve` input checks, and how `ados run status` shows an escalation. */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { buildProgram } from '../../client/cli';
import { formatResult, formatStatus } from '../../client/commands/run';
import type { DeliveryStatus } from '../../shared/contract/delivery/status';

const ROOT = resolve(__dirname, '..', '..');

/** Runs the real `ados` entry point; TEMPORAL_ADDRESS points at a port where nothing listens. */
const ados = (args: string[]) =>
  new Promise<{ code: number | null; stderr: string }>((done) => {
    execFile(process.execPath, [join(ROOT, 'client', 'bin', 'ados.cjs'), ...args], { cwd: ROOT, env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1' }, timeout: 60_000 }, (error, _stdout, stderr) => {
      const code = error ? (error as { code?: unknown }).code : 0;
      done({ code: typeof code === 'number' ? code : null, stderr });
    });
  });

describe('ados resolve', () => {
  it('declares --task, --action and --as as required, and --comment, --environment, --signal, --json', () => {
    const resolveCommand = buildProgram().commands.find((c) => c.name() === 'resolve')!;
    const mandatory = resolveCommand.options.filter((o) => o.mandatory).map((o) => o.long);
    expect(mandatory).toEqual(['--task', '--action', '--as']);
    expect(resolveCommand.options.map((o) => o.long)).toEqual(expect.arrayContaining(['--comment', '--environment', '--signal', '--json']));
  });

  it('an unknown --action exits 2 naming the flag, before connecting; a valid one reaches the (absent) server: exit 5', async () => {
    const [bad, env, good] = await Promise.all([
      ados(['resolve', 'delivery-acme-r1', '--task', 'story', '--action', 'ignore', '--as', 'alice']),
      ados(['resolve', 'delivery-acme-r1', '--task', 'story', '--action', 'skip', '--as', 'alice', '--environment', 'qa']),
      ados(['resolve', 'delivery-acme-r1', '--task', 'story', '--action', 'skip', '--as', 'alice', '--tenant', 'acme']),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('invalid resolution:\n--action: must be one of retry, skip, abort');
    expect(env.code).toBe(2);
    expect(env.stderr).toContain('--environment: ');
    expect(good.code).toBe(5);
    expect(good.stderr).toContain('cannot reach Temporal at 127.0.0.1:1');
  });
});

describe('ados run status / result with the escalation ladder', () => {
  const status: DeliveryStatus = {
    workflowId: 'delivery-acme-r1',
    tenantId: 'acme',
    runId: 'r1',
    stage: 'dev',
    environments: ['dev'],
    completedEnvironments: [],
    tasks: {
      dev: {
        story: { state: 'escalated', capability: 'demo.text', rung: 'human', error: 'boom' },
        notes: { state: 'succeeded', capability: 'demo.text', variant: 'demo.text.fallback', rung: 'swap', worker: 'pool-b' },
        ship: { state: 'running', capability: 'noop', notice: 'no worker polls capability noop (task queue ados.cap.noop)' },
      },
    },
    strategy: { name: 'halved', maxParallel: 2 },
    escalations: [
      {
        environment: 'dev',
        taskId: 'story',
        capability: 'demo.text',
        reason: 'boom',
        since: '2026-11-22T06:00:00.000Z',
        actions: ['retry', 'skip', 'abort'],
        steps: [
          { rung: 'retry', step: 'exhausted', variant: 'demo.text', reason: 'retry policy exhausted after 3 attempt(s) on demo.text: boom' },
          { rung: 'swap', step: 'skipped', reason: 'capability demo.text has no alternate variant in the registry' },
          { rung: 'human', step: 'taken', reason: 'boom' },
        ],
      },
    ],
    waitingFor: 'a resolution of task "story" in dev (boom): ados resolve delivery-acme-r1 --task story --action retry|skip|abort --as <user>',
  };

  it('shows each task\'s variant, rung and queue notice, the strategy, and each escalation with its steps and the command', () => {
    expect(formatStatus(status).split('\n')).toEqual([
      'delivery-acme-r1  stage: dev',
      'waiting for: a resolution of task "story" in dev (boom): ados resolve delivery-acme-r1 --task story --action retry|skip|abort --as <user>',
      'dev:',
      '  story            demo.text  escalated [rung: human]  (boom)',
      '  notes            demo.text  succeeded via demo.text.fallback [rung: swap] on pool-b',
      '  ship             noop       running',
      '                   ! no worker polls capability noop (task queue ados.cap.noop)',
      'strategy: halved (maxParallel 2)',
      'escalated to a human: task story in dev since 2026-11-22T06:00:00.000Z',
      '  retry exhausted (demo.text): retry policy exhausted after 3 attempt(s) on demo.text: boom',
      '  swap skipped: capability demo.text has no alternate variant in the registry',
      '  human taken: boom',
      '  resolve: ados resolve delivery-acme-r1 --task story --action retry|skip|abort --as <user>',
    ]);
  });

  it('lists the tasks a human skipped in the result', () => {
    expect(
      formatResult({ workflowId: 'delivery-acme-r1', outcome: 'succeeded', completedEnvironments: ['dev'], outputs: {}, skippedTasks: [{ environment: 'dev', taskId: 'story', by: 'bob', comment: 'later' }] }),
    ).toBe('delivery-acme-r1: succeeded\n  skipped by bob: story in dev (later)');
    expect(formatResult({ workflowId: 'w', outcome: 'aborted', completedEnvironments: [], outputs: {}, reason: 'in dev: aborted by bob' })).toBe('w: aborted (in dev: aborted by bob)');
  });
});
