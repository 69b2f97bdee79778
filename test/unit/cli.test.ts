import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CommanderError, type Command } from 'commander';
import { buildProgram } from '../../client/cli';
import { formatStatus } from '../../client/commands/run';
import { TemporalUnreachableError } from '../../client/connection';
import { DecisionRefusedError, RunNotFoundError } from '../../client/common/run-errors';
import { RunAlreadyExistsError } from '../../client/delivery';
import { exitCodeFor } from '../../client/exit-codes';
import { readInputFile } from '../../client/plan-file';
import { InputValidationError } from '../../shared/contract/validation';
import type { DeliveryStatus } from '../../shared/contract/delivery/status';
import { EXIT } from '../../shared/node/command-line';
import { ConfigError } from '../../shared/node/config';
import { TenantRefusedError } from '../../shared/node/tenancy/admission';
import { TenantNotFoundError } from '../../shared/node/tenancy/store';
import { buildWorkerProgram } from '../../workers/main';
import { MAX_IDENTITY_LENGTH } from '../../workers/worker-flags';

const ROOT = resolve(__dirname, '..', '..');
const BIN = join(ROOT, 'client', 'bin', 'ados.cjs');

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `ados` entry point; TEMPORAL_ADDRESS points at a port where nothing listens. */
function ados(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: ROOT, env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: unknown }).code as number | null) : 0;
        done({ code: typeof code === 'number' ? code : null, stdout, stderr });
      },
    );
  });
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ados-cli-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writePlan(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const CYCLIC_PLAN = `
tenantId: acme
runId: r1
requestedBy: carol
goal: { type: build, complexity: low, risk: low, maxCost: 1 }
environments: [dev]
plan:
  tasks:
    - { id: a, capability: build, dependsOn: [b] }
    - { id: b, capability: build, dependsOn: [c] }
    - { id: c, capability: build, dependsOn: [a] }
`;

/** A program whose commander output goes nowhere, so usage errors do not clutter the test log. */
function quietProgram(): Command {
  const program = buildProgram();
  const silence = (command: Command) => {
    command.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    command.commands.forEach(silence);
  };
  silence(program);
  return program;
}

describe('buildProgram', () => {
  it('has a command for every kind of work and every control', () => {
    const program = buildProgram();
    expect(program.name()).toBe('ados');
    // `ados worker` is the worker process's own program (workers/main.ts): listed in the help, run by client/bin/ados.cjs.
    expect(program.commands.map((c) => c.name())).toEqual([
      'run', 'approve', 'reject', 'approver', 'audit', 'pending', 'resolve', 'workers', 'capabilities', 'release', 'extract', 'schema', 'tenant', 'runtime', 'schedule', 'incident', 'freeze',
      'governance', 'learn', 'cluster', 'metrics', 'anomaly',
    ]);
    const run = program.commands.find((c) => c.name() === 'run')!;
    expect(run.commands.map((c) => c.name())).toEqual(['start', 'status', 'why', 'result']);
  });

  it('declares the options people rely on', () => {
    const program = buildProgram();
    const command = (...path: string[]) =>
      path.reduce<Command>((parent, name) => parent.commands.find((c) => c.name() === name)!, program);
    const flags = (c: Command) => c.options.map((o) => o.long);
    expect(flags(command('run', 'start'))).toEqual(expect.arrayContaining(['--file', '--tenant', '--run-id', '--requested-by', '--wait', '--json']));
    expect(command('run', 'start').options.find((o) => o.long === '--file')!.mandatory).toBe(true);
    expect(command('approve').options.find((o) => o.long === '--as')!.mandatory).toBe(true);
    expect(command('reject').options.find((o) => o.long === '--comment')!.mandatory).toBe(true);
    expect(flags(buildWorkerProgram())).toEqual(['--role', '--capabilities', '--capability-module', '--max-concurrent', '--rate-limit', '--identity']);
  });

  it('refuses approve without --as before doing anything', async () => {
    const attempt = quietProgram().parseAsync(['approve', 'delivery-acme-r1'], { from: 'user' });
    await expect(attempt).rejects.toBeInstanceOf(CommanderError);
    await expect(attempt).rejects.toMatchObject({ code: 'commander.missingMandatoryOptionValue', message: expect.stringContaining('--as') });
  });

  it('refuses reject without --comment', async () => {
    const attempt = quietProgram().parseAsync(['reject', 'delivery-acme-r1', '--as', 'alice'], { from: 'user' });
    await expect(attempt).rejects.toMatchObject({ code: 'commander.missingMandatoryOptionValue', message: expect.stringContaining('--comment') });
  });

});

describe('exitCodeFor', () => {
  it.each([
    ['InputValidationError', 2, new InputValidationError('delivery run', [{ path: 'tenantId', message: 'bad' }])],
    ['ConfigError', 2, new ConfigError(['LOG_LEVEL="x": bad'])],
    ['RunAlreadyExistsError', 2, new RunAlreadyExistsError('delivery-acme-r1')],
    ['RunNotFoundError', 3, new RunNotFoundError('delivery-acme-r1')],
    ['DecisionRefusedError', 4, new DecisionRefusedError('"mallory" is not a listed approver')],
    ['TemporalUnreachableError', 5, new TemporalUnreachableError('127.0.0.1:1', new Error('refused'))],
    ['TenantRefusedError', 6, new TenantRefusedError('tenant acme is deactivated')],
    ['TenantNotFoundError', 3, new TenantNotFoundError('acme')],
    ['a plain Error', 1, new Error('boom')],
    ['a thrown string', 1, 'boom'],
  ])('maps %s to exit %d', (_, code, error) => {
    expect(exitCodeFor(error)).toBe(code);
  });

  it('uses the documented values', () => {
    expect(EXIT).toEqual({ ok: 0, failure: 1, invalidInput: 2, notFound: 3, refused: 4, unreachable: 5, tenantRefused: 6 });
  });

  it('TemporalUnreachableError names the address and the cause', () => {
    expect(new TemporalUnreachableError('127.0.0.1:1', new Error('refused')).message).toContain('cannot reach Temporal at 127.0.0.1:1 (refused)');
  });
});

describe('readInputFile', () => {
  it('reads YAML and JSON', () => {
    expect(readInputFile(writePlan('p.yaml', 'tenantId: acme\nplan: { tasks: [] }\n'))).toEqual({ tenantId: 'acme', plan: { tasks: [] } });
    expect(readInputFile(writePlan('p.json', '{"tenantId":"acme"}'))).toEqual({ tenantId: 'acme' });
  });

  it('refuses a missing file and a syntax error as input errors naming the file', () => {
    const missing = join(dir, 'nope.yaml');
    expect(() => readInputFile(missing)).toThrow(InputValidationError);
    expect(() => readInputFile(missing)).toThrow(`invalid file ${missing}:\n(file): cannot read: ENOENT`);
    const broken = writePlan('broken.json', '{"tenantId": ');
    expect(() => readInputFile(broken)).toThrow(`invalid file ${broken}:\n(syntax): `);
  });
});

describe('formatStatus', () => {
  it('prints the stage, each task with its worker or error, and the approval decisions', () => {
    const status: DeliveryStatus = {
      workflowId: 'delivery-acme-r1',
      tenantId: 'acme',
      runId: 'r1',
      stage: 'awaiting_approval',
      environments: ['dev', 'prod'],
      completedEnvironments: ['dev'],
      tasks: {
        dev: {
          build: { state: 'succeeded', capability: 'build', worker: 'cap-1@host' },
          verify: { state: 'failed', capability: 'verify', error: 'no release' },
        },
      },
      waitingFor: 'approval by alice or bob',
      approval: {
        gate: 'prod',
        tenantId: 'acme',
        policy: { approvers: ['alice', 'bob'], quorum: 1, timeout: '72h', signatures: 'optional' },
        requestedBy: 'carol',
        approvedBy: [],
        decisions: [{ decision: 'approve', approver: 'carol', counted: false, reason: 'requested this run', via: 'update' }],
      },
    };
    const lines = formatStatus(status).split('\n');
    expect(lines[0]).toBe('delivery-acme-r1  stage: awaiting_approval');
    expect(lines).toContain('waiting for: approval by alice or bob');
    expect(lines.find((l) => l.includes('build '))).toMatch(/build\s+build\s+succeeded on cap-1@host/);
    expect(lines.find((l) => l.includes('verify '))).toMatch(/verify\s+verify\s+failed\s+\(no release\)/);
    expect(lines).not.toContain('prod:');
    expect(lines).toContain('approval: 0/1 by alice, bob');
    expect(lines).toContain('  approve by carol via update: ignored (requested this run)');
  });
});

describe('the ados binary, without a Temporal server', () => {
  it('run start with a cyclic plan exits 2 and prints the cycle, without contacting Temporal', async () => {
    const result = await ados(['run', 'start', '--file', writePlan('cycle.yaml', CYCLIC_PLAN)]);
    expect(result.stderr).toContain('invalid delivery run:');
    expect(result.stderr).toContain('plan.tasks: dependency cycle: a → b → c → a (each depends on the next)');
    expect(result.stderr).not.toContain('cannot reach Temporal');
    expect(result.stdout).toBe('');
    // Had it connected first, it would have failed with exit 5 (unreachable) instead.
    expect(result.code).toBe(2);
  });

  it('run start with a missing file exits 2', async () => {
    const result = await ados(['run', 'start', '--file', join(dir, 'absent.yaml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('(file): cannot read: ENOENT');
  });

  it('a bad TEMPORAL_ADDRESS exits 2 and names the variable', async () => {
    const result = await ados(['run', 'status', 'delivery-acme-r1', '--tenant', 'acme'], { TEMPORAL_ADDRESS: 'nohost' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('TEMPORAL_ADDRESS="nohost": must be host:port');
  });

  it('incident watch: a prod service without --approvers and a bad --interval exit 2 naming the flag, before connecting', async () => {
    const prod = await ados(['incident', 'watch', '--tenant', 'acme', '--service', 'api', '--env', 'prod']);
    expect({ code: prod.code, unreachable: prod.stderr.includes('cannot reach Temporal') }).toEqual({ code: 2, unreachable: false });
    expect(prod.stderr).toContain('--approvers: required to watch a prod service');
    const interval = await ados(['incident', 'watch', '--tenant', 'acme', '--service', 'api', '--env', 'dev', '--interval', 'often', '--failures', 'x']);
    expect(interval.code).toBe(2);
    expect(interval.stderr).toContain('--failures: must be a whole number from 1 to 20 (got "x")');
  });

  it('an unknown command exits 2', async () => {
    const result = await ados(['launch']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown command 'launch'");
  });

  it('--help exits 0 and lists the commands', async () => {
    const result = await ados(['--help']);
    expect(result.code).toBe(0);
    for (const name of ['run', 'approve', 'reject', 'pending', 'worker']) expect(result.stdout).toMatch(new RegExp(`^\\s+${name}\\b`, 'm'));
  });

  it('`ados worker --help` and `ados help worker` exit 0 and list the worker flags', async () => {
    for (const args of [['worker', '--help'], ['help', 'worker']]) {
      const result = await ados(args);
      expect({ args, code: result.code }).toEqual({ args, code: 0 });
      expect(result.stdout).toContain('Usage: ados worker [options]');
      for (const flag of ['--role', '--capabilities', '--max-concurrent', '--rate-limit', '--identity']) expect(result.stdout).toContain(flag);
    }
  });

  it('a command on a run needs a tenant scope: exit 2 naming --tenant and ADOS_TENANT, before connecting', async () => {
    for (const args of [['run', 'status', 'delivery-acme-r1'], ['pending'], ['approve', 'delivery-acme-r1', '--as', 'alice']]) {
      const result = await ados(args, { ADOS_TENANT: '' });
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toContain('--tenant: required: give --tenant <id> or set ADOS_TENANT');
    }
  });

  it('a run whose workflow ID names another tenant is refused with exit 6 before connecting', async () => {
    for (const [args, env] of [
      [['run', 'status', 'delivery-globex-r1', '--tenant', 'acme'], {}],
      [['run', 'result', 'delivery-globex-r1'], { ADOS_TENANT: 'acme' }],
      [['resolve', 'delivery-globex-r1', '--task', 't', '--action', 'skip', '--as', 'alice', '--tenant', 'acme'], {}],
      [['reject', 'extraction-globex-set-0123abcd', '--as', 'alice', '--comment', 'no', '--tenant', 'acme'], {}],
    ] as const) {
      const result = await ados([...args], env);
      expect({ args, code: result.code }).toEqual({ args, code: 6 });
      expect(result.stderr).toMatch(/belongs to tenant globex, not to acme .*refused/);
      expect(result.stderr).not.toContain('cannot reach Temporal');
    }
    const notARun = await ados(['run', 'status', 'something-else', '--tenant', 'acme']);
    expect(notARun.code).toBe(6);
    expect(notARun.stderr).toContain('something-else is not the workflow ID of a run of tenant acme');
  });

  it('a command that needs Temporal exits 5 when nothing listens', async () => {
    const result = await ados(['run', 'status', 'delivery-acme-r1', '--tenant', 'acme']);
    expect(result.code).toBe(5);
    expect(result.stderr).toContain('cannot reach Temporal at 127.0.0.1:1');
  });
});

describe('ados worker / ados workers flags, through the real binary', () => {
  // Nothing listens on TEMPORAL_ADDRESS and DATABASE_URL is unset: a flag that got past validation would end in a
  // configuration error or an unreachable server instead, so each case shows that the flag is refused first.
  const noDatabase = { DATABASE_URL: '' };
  const refused = (flag: string, message: string) => `ados: invalid ados worker flags:\n${flag}: ${message}`;

  it.each([
    ['--max-concurrent 0', ['--capabilities', 'build', '--max-concurrent', '0'], refused('--max-concurrent', 'must be a whole number of at least 1 (got "0")')],
    ['--max-concurrent 1.5', ['--capabilities', 'build', '--max-concurrent', '1.5'], refused('--max-concurrent', 'must be a whole number of at least 1 (got "1.5")')],
    ['--max-concurrent eight', ['--capabilities', 'build', '--max-concurrent', 'eight'], refused('--max-concurrent', 'must be a whole number of at least 1 (got "eight")')],
    ['--rate-limit fast', ['--capabilities', 'build', '--rate-limit', 'fast'], refused('--rate-limit', 'must be a number of activities per second above 0 (got "fast")')],
    ['--rate-limit 0', ['--capabilities', 'build', '--rate-limit', '0'], refused('--rate-limit', 'must be a number of activities per second above 0 (got "0")')],
    ['--role boss', ['--role', 'boss'], refused('--role', 'must be control or capabilities (got "boss")')],
    ['an empty --identity', ['--capabilities', 'build', '--identity', ''], refused('--identity', 'must not be empty')],
    ['an --identity with spaces', ['--capabilities', 'build', '--identity', 'my worker'], refused('--identity', 'may hold letters, digits and')],
    ['an --identity too long', ['--capabilities', 'build', '--identity', 'w'.repeat(MAX_IDENTITY_LENGTH + 1)], refused('--identity', `must be at most ${MAX_IDENTITY_LENGTH} characters`)],
    ['an unknown capability', ['--capabilities', 'build,teleport'], refused('--capabilities', 'unknown capability teleport; known: build, deploy, verify')],
    ['a capability listed twice', ['--capabilities', 'build,build'], refused('--capabilities', 'capability build is listed more than once')],
    ['no --capabilities', [], refused('--capabilities', 'a capability worker needs at least one capability')],
    ['--capabilities on the control worker', ['--role', 'control', '--capabilities', 'build'], refused('--capabilities', 'applies to capability workers only')],
  ])('ados worker with %s exits 2 and names the flag', async (_, args, message) => {
    const result = await ados(['worker', ...args], noDatabase);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toContain('DATABASE_URL');
    expect(result.code).toBe(2);
  });

  it('reports every bad flag at once', async () => {
    const result = await ados(['worker', '--capabilities', 'teleport', '--max-concurrent', '0', '--identity', ''], noDatabase);
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n').filter((line) => line.startsWith('--')).map((line) => line.split(':')[0])).toEqual(['--capabilities', '--max-concurrent', '--identity']);
  });

  it('valid flags get past the flags to the configuration, which refuses a missing DATABASE_URL (exit 2)', async () => {
    const result = await ados(['worker', '--capabilities', 'build,deploy', '--max-concurrent', '4', '--rate-limit', '2.5', '--identity', 'cap[build,deploy]-1@host'], noDatabase);
    expect(result.stderr).not.toContain('invalid ados worker flags');
    expect(result.stderr).toContain('DATABASE_URL is not set');
    expect(result.code).toBe(2);
  });

  it('ados workers --capabilities with an unknown capability exits 2 before connecting to Temporal', async () => {
    const result = await ados(['workers', '--capabilities', 'build,teleport']);
    expect(result.stderr).toContain('ados: invalid ados workers flags:\n--capabilities: unknown capability teleport; known: build, deploy, verify');
    expect(result.stderr).not.toContain('cannot reach Temporal');
    expect(result.code).toBe(2);
  });

  it('ados workers --capabilities with an empty list exits 2', async () => {
    const result = await ados(['workers', '--capabilities', ',']);
    expect(result.stderr).toContain('--capabilities: give at least one capability');
    expect(result.code).toBe(2);
  });
});
