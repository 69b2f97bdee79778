/**
 * `ados schema validate|diff` and the parts of `ados extract` that run before any server is reached: the real CLI
 * entry point as a child process, with Temporal pointed at a port where nothing listens. Plus the progress line and
 * the plan text, which are pure.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../../client/cli';
import { renderNodeTable, renderPlan, renderProgressLine, setNameFor } from '../../client/extraction';
import type { ExtractionPlan, ExtractionProgress } from '../../shared/contract/extraction/messages';
import { INVALID_DIR, SEED_DIR } from '../helpers/extraction';
import { ADOS_BIN } from '../helpers/processes';
import { PROJECT_ROOT } from '../helpers/toolchain';

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function ados(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(ADOS_|TEMPORAL_|DATABASE_URL$)/.test(k)));
  return new Promise((done) => {
    execFile(process.execPath, [ADOS_BIN, ...args], { cwd: PROJECT_ROOT, env: { ...base, TEMPORAL_ADDRESS: '127.0.0.1:1', ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? ((error as { code?: unknown }).code as number | null) : 0;
      done({ code: typeof code === 'number' ? code : null, stdout, stderr });
    });
  });
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ados-extract-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the commands', () => {
  test('extract and schema (validate, diff, drift) with their options', () => {
    const program = buildProgram();
    const command = (...path: string[]) => path.reduce<Command>((parent, name) => parent.commands.find((c) => c.name() === name)!, program);
    const flags = (c: Command) => c.options.map((o) => o.long);
    expect(flags(command('extract'))).toEqual(
      expect.arrayContaining(['--plan', '--watch', '--strict', '--max-parallel', '--out', '--tenant', '--approvers', '--json']),
    );
    expect(command('schema').commands.map((c) => c.name())).toEqual(['validate', 'diff', 'drift']);
    expect(flags(command('schema', 'drift'))).toEqual(expect.arrayContaining(['--dir', '--tenant', '--accept', '--rollback', '--check']));
    expect(command('schema', 'drift').options.find((o) => o.long === '--dir')!.defaultValue).toBe('deployed');
  });
});

describe('ados schema validate', () => {
  test('the seed set is valid in strict mode: exit 0', async () => {
    const run = await ados(['schema', 'validate', '--strict', ...['auditor', 'main', 'plastos-adapter', 'tensoraios', 'trainer'].map((f) => join(SEED_DIR, `${f}.yaml`))]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout.trim()).toBe('valid: 5 schema(s), 0 error(s), 0 warning(s) (strict)');
  });

  test('an invalid file: every issue with file, path, layer and fix on stdout; exit 2', async () => {
    const file = join(INVALID_DIR, 'types', 'wrong-types.yaml');
    const run = await ados(['schema', 'validate', file]);
    expect(run.code).toBe(2);
    expect(run.stdout.split('\n').filter(Boolean)).toEqual([
      `${file}: governance.mode: error [types] must be one of "hybrid", "autonomous", "supervised"`,
      `${file}: memoryTopology.episodic.retention: error [types] must be "<n> days", "<n> months" or "<n> years", e.g. "30 days"`,
      `${file}: deployment.timeoutMs: error [types] must be a whole number`,
      'invalid: 1 schema(s), 3 error(s), 0 warning(s)',
    ]);
    expect(run.stderr).toContain('(set): 3 error(s), 0 warning(s); see above');
  });

  test('warnings pass unless --strict; --json gives the report', async () => {
    const file = join(INVALID_DIR, 'performance', 'remote-episodic-fast.yaml');
    expect((await ados(['schema', 'validate', file])).code).toBe(0);
    const strict = await ados(['schema', 'validate', file, '--strict', '--json']);
    expect(strict.code).toBe(2);
    const report = JSON.parse(strict.stdout);
    expect(report).toMatchObject({ ok: false, strict: true, errors: 0, warnings: 1, issues: [{ layer: 'performance', path: 'reasoning.decisionLatencyMs' }] });
  });

  test('an outdated schema says it will be migrated, and that a breaking step waits for approval', async () => {
    const run = await ados(['schema', 'validate', join(INVALID_DIR, 'migrations', 'tensoraios-5.9.yaml')]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('tensoraios-5.9.yaml: migrates 5.9.0 → 6.1.0 (breaking: extraction waits for approval)');
  });
});

test('ados schema diff prints the changes and the migration guide', async () => {
  const run = await ados(['schema', 'diff', join(INVALID_DIR, 'migrations', 'tensoraios-5.9.yaml'), join(SEED_DIR, 'tensoraios.yaml')]);
  expect(run.code).toBe(0);
  const lines = run.stdout.split('\n');
  expect(lines[0]).toMatch(/tensoraios-5\.9\.yaml \(5\.9\.0\) → .*tensoraios\.yaml \(6\.1\.0\): 11 change\(s\), impact critical$/);
  expect(lines).toContain('  critical memory: - {"working":{"store":"redis","retention":"7 days","locatio...  [5.9-to-6.0: rename memory → memoryTopology]');
  expect(lines).toContain('after the migrations, 2 change(s) by the author remain:');
  expect(lines).toContain('  major    learning.driftThreshold: 0.1 → 0.05');
  expect(lines).toContain('migration guide:');
  expect(lines).toContain('  5.9.0 → 6.0.0 (5.9-to-6.0) BREAKING: extraction waits for a human approval: memory is now memoryTopology, deployment timeouts are in milliseconds by name, and auth is explicit');
});

describe('ados extract, before it reaches a server', () => {
  test('a cycle is refused with exit 2, naming file, path and cycle', async () => {
    const run = await ados(['extract', join(INVALID_DIR, 'dependencies-cycle')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      'alpha.yaml: dependsOn: error [dependencies] dependency cycle: Alpha → Gamma → Beta → Alpha (each depends on the next); break it by removing one of these dependsOn entries',
    );
  });

  test('a syntax error is refused with exit 2 and its line', async () => {
    const run = await ados(['extract', join(INVALID_DIR, 'syntax')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unclosed-list.yaml: line 11, column 3: error [syntax] not valid YAML');
  });

  test('a breaking migration without approvers is refused: exit 2 naming approval', async () => {
    const schemas = join(dir, 'old-tensor');
    cpSync(SEED_DIR, schemas, { recursive: true });
    cpSync(join(INVALID_DIR, 'migrations', 'tensoraios-5.9.yaml'), join(schemas, 'tensoraios.yaml'));
    const run = await ados(['extract', schemas]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('approval: required: TensorAIOS (5.9.0 → 6.0.0) needs a breaking migration, which waits for a human approval; give approvers (ados extract --approvers alice,bob)');
  });

  test('--plan needs DATABASE_URL: exit 2 naming it', async () => {
    const run = await ados(['extract', SEED_DIR, '--plan']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('DATABASE_URL: not set: --plan reads PostgreSQL');
  });

  test('an empty directory and a bad --max-parallel are usage errors', async () => {
    const empty = join(dir, 'empty');
    cpSync(join(INVALID_DIR, 'syntax'), empty, { recursive: true, filter: (src) => !src.endsWith('.yaml') });
    expect((await ados(['extract', empty])).stderr).toContain('(dir): holds no .yaml, .yml or .json files');
    expect((await ados(['extract', SEED_DIR, '--max-parallel', '0'])).stderr).toContain('--max-parallel: must be a whole number ≥ 1 (got "0")');
  });

  test('a valid set with Temporal unreachable: exit 5', async () => {
    const run = await ados(['extract', SEED_DIR]);
    expect(run.code).toBe(5);
    expect(run.stderr).toContain('cannot reach Temporal at 127.0.0.1:1');
  });
});

describe('rendering', () => {
  const node = (state: ExtractionProgress['nodes'][string]['state'], extra: Partial<ExtractionProgress['nodes'][string]> = {}) => ({ state, kind: 'core-service' as const, dependsOn: [], ...extra });
  const progress: ExtractionProgress = {
    workflowId: 'extraction-acme-seed-01234567',
    tenantId: 'acme',
    setName: 'seed',
    stage: 'extracting',
    maxParallel: 2,
    order: ['A', 'B', 'C', 'D'],
    nodes: { A: node('cached', { durationMs: 0, reasons: [{ part: 'hit', message: 'cache hit (key 0123abcd, extracted by w1)' }] }), B: node('done', { durationMs: 210, worker: 'cap-1' }), C: node('running'), D: node('pending') },
    counts: { pending: 1, running: 1, cached: 1, done: 1, failed: 0, skipped: 0 },
    cache: { hits: 1, misses: 1 },
    extracted: 1,
    migrations: [],
    startedAt: '2026-01-01T00:00:00.000Z',
  };

  test('the progress line: bar, counts, cache, time, stage', () => {
    expect(renderProgressLine(progress, 1234)).toBe(
      '[############------------] 2/4  running 1  done 1  cached 1  failed 0  skipped 0  hits 1 misses 1  1.2s  extracting',
    );
  });

  test('the node table and the plan text', () => {
    expect(renderNodeTable(progress).split('\n')).toEqual([
      '  A       cached        0 ms  (cache hit (key 0123abcd, extracted by w1))',
      '  B       done        210 ms  on cap-1',
      '  C       running',
      '  D       pending',
    ]);
    const plan: ExtractionPlan = {
      extractorVersion: '1.0.0',
      glueVersion: '1.0.0',
      schemaSha256: {},
      nodes: [
        { name: 'A', decision: 'reuse', reasons: [{ part: 'hit', message: 'cache hit (key 0123abcd, extracted by w1)' }] },
        { name: 'B', decision: 'run', reasons: [{ part: 'schema', message: 'schema changed (sha256 aaaaaaaa → bbbbbbbb)' }] },
      ],
    };
    expect(renderPlan(plan, 'acme').split('\n')).toEqual([
      'plan for tenant acme (extractor 1.0.0, glue 1.0.0): 1 reused from cache, 1 to run',
      '  reuse  A       cache hit (key 0123abcd, extracted by w1)',
      '  run    B       schema changed (sha256 aaaaaaaa → bbbbbbbb)',
    ]);
  });

  test('set names come from the directory, cleaned to the workflow-ID alphabet', () => {
    expect(setNameFor('examples/schemas')).toBe('schemas');
    expect(setNameFor('/tmp/My Agents!')).toBe('My-Agents-');
    expect(setNameFor('/')).toBe('schemas');
  });
});
