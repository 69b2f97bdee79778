/**
 * The pure parts of the `exec` and `http` capabilities: input validation (argv, cwd, environment, globs), the
 * environment allowlist, the command's time budget, output globs, the Idempotency-Key and the host allowlist.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { commandArgv, commandTimeoutMs, cwdProblem, execInput } from '../../activities/capabilities/exec';
import { httpInput, idempotencyKey, retryableStatus, statusExpected } from '../../activities/capabilities/http';
import { issuesFromZod, type ValidationIssue } from '../../shared/contract/validation';
import { ConfigError, loadConfig } from '../../shared/node/config';
import { globProblem, globToRegExp, hashOutputFiles } from '../../shared/node/files/output-files';
import { HostAllowlist, parseAllowedHosts } from '../../shared/node/http/allowed-hosts';
import { commandEnvironment } from '../../shared/node/process/command';

function issues(schema: typeof execInput | typeof httpInput, input: unknown): ValidationIssue[] {
  const parsed = schema.safeParse(input);
  return parsed.success ? [] : issuesFromZod(parsed.error);
}

describe('exec input', () => {
  test('defaults: no shell, the workspace itself, PATH only, 5 s grace, 4 kB tail', () => {
    expect(execInput.parse({ argv: ['true'] })).toEqual({
      argv: ['true'],
      shell: false,
      cwd: '.',
      env: {},
      passEnv: ['PATH'],
      killGraceSeconds: 5,
      outputs: [],
      tailBytes: 4096,
    });
  });

  test.each([
    ['argv is a string', { argv: 'npm test' }, 'argv', 'give the command as an array of strings, e.g. ["npm", "test"]'],
    ['argv holds a number', { argv: ['sleep', 5] }, 'argv[1]', 'each argument must be a string'],
    ['argv is empty', { argv: [] }, 'argv', 'give at least the program, e.g. ["npm", "test"]'],
    ['the program is empty', { argv: [''] }, 'argv', 'argv[0] (the program) cannot be empty'],
    ['a shell script in two strings', { argv: ['echo', 'hi'], shell: true }, 'argv', 'with shell: true, argv holds exactly one /bin/sh script (got 2 strings)'],
    ['cwd climbs out', { argv: ['true'], cwd: 'a/../../x' }, 'cwd', '"a/../../x" climbs out of the attempt\'s workspace; give a directory inside it'],
    ['cwd is absolute', { argv: ['true'], cwd: '/etc' }, 'cwd', 'must be a directory inside the attempt\'s workspace, given relative to it (e.g. "." or "build"), not an absolute path'],
    ['passEnv names the database URL', { argv: ['true'], passEnv: ['PATH', 'DATABASE_URL'] }, 'passEnv[1]', expect.stringContaining('is not passed to commands')],
    ['passEnv names an ADOS setting', { argv: ['true'], passEnv: ['ADOS_DATA_DIR'] }, 'passEnv[0]', expect.stringContaining('set the value in input.env instead')],
    ['an env name with a dash', { argv: ['true'], env: { 'MY-VAR': '1' } }, 'env.MY-VAR', expect.stringContaining('an environment variable name')],
    ['an output glob that climbs out', { argv: ['true'], outputs: ['dist/*.js', '../secret'] }, 'outputs[1]', 'cannot climb out of the cwd with ".."'],
    ['an absolute output glob', { argv: ['true'], outputs: ['/etc/passwd'] }, 'outputs[0]', "must be relative to the command's cwd, not absolute"],
    ['an unknown field', { argv: ['true'], args: ['x'] }, '(root)', expect.stringContaining('args')],
  ])('%s is refused naming the field', (_name, input, field, message) => {
    expect(issues(execInput, input)).toEqual([{ path: field, message }]);
  });

  test('a cwd inside the workspace is fine, however it is written', () => {
    for (const cwd of ['.', 'build', 'a/../b', './x/y']) expect(cwdProblem(cwd)).toBeUndefined();
  });

  test('shell: true runs the one script with /bin/sh -c; otherwise argv is spawned as given', () => {
    expect(commandArgv({ argv: ['echo $HOME | wc -c'], shell: true })).toEqual(['/bin/sh', '-c', 'echo $HOME | wc -c']);
    expect(commandArgv({ argv: ['echo', '$HOME'], shell: false })).toEqual(['echo', '$HOME']);
  });

  test('the environment: only the named worker variables it has, plus explicit values (which win)', () => {
    const worker = { PATH: '/usr/bin', HOME: '/root', SECRET: 's', LANG: 'C' };
    expect(commandEnvironment(worker, ['PATH', 'LANG', 'MISSING'], { LANG: 'en_US.UTF-8', MODE: 'ci' })).toEqual({
      PATH: '/usr/bin',
      LANG: 'en_US.UTF-8',
      MODE: 'ci',
    });
    expect(commandEnvironment(worker, [], {})).toEqual({});
  });

  test('the time budget: timeoutSeconds, and always less than what is left of the attempt minus grace and margin', () => {
    expect(commandTimeoutMs({ timeoutSeconds: 10, killGraceSeconds: 5 }, 3_600_000)).toBe(10_000);
    expect(commandTimeoutMs({ timeoutSeconds: undefined, killGraceSeconds: 5 }, 60_000)).toBe(53_000);
    expect(commandTimeoutMs({ timeoutSeconds: 100, killGraceSeconds: 5 }, 60_000)).toBe(53_000);
    expect(commandTimeoutMs({ timeoutSeconds: 100, killGraceSeconds: 5 }, 1_000)).toBe(0);
  });
});

describe('output globs', () => {
  test.each([
    ['dist/*.js', ['dist/a.js'], ['dist/sub/a.js', 'dist/a.jsx', 'a.js']],
    ['dist/**', ['dist/a.js', 'dist/sub/deep/b.txt'], ['dist', 'other/a.js']],
    ['**/*.tgz', ['x.tgz', 'a/b/x.tgz'], ['x.tgz.sha']],
    ['report-?.txt', ['report-1.txt'], ['report-10.txt']],
    ['./out.bin', ['out.bin'], ['xout.bin']],
    ['a+b (1).txt', ['a+b (1).txt'], ['aab (1).txt']],
  ])('%s', (glob, matching, other) => {
    expect(globProblem(glob)).toBeUndefined();
    const regexp = globToRegExp(glob);
    for (const p of matching) expect(regexp.test(p)).toBe(true);
    for (const p of other) expect(regexp.test(p)).toBe(false);
  });

  test('a glob with "**" inside a segment is refused', () => {
    expect(globProblem('dist/**.js')).toBe('"**" must be a whole path segment, e.g. dist/**/*.js');
  });

  test('hashOutputFiles: regular files only (no symbolic link followed), sorted, with the globs that matched nothing', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ados-globs-'));
    try {
      fs.mkdirSync(path.join(dir, 'dist/sub'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'dist/b.js'), 'b');
      fs.writeFileSync(path.join(dir, 'dist/sub/a.js'), 'hello');
      fs.writeFileSync(path.join(dir, 'exec.log'), 'log');
      fs.symlinkSync('/etc/hostname', path.join(dir, 'dist/link.js'));
      const { files, unmatched } = await hashOutputFiles(dir, ['dist/**/*.js', '*.log', 'missing/*'], ['exec.log']);
      expect(files).toEqual([
        { path: 'dist/b.js', sha256: '3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d', bytes: 1 },
        { path: 'dist/sub/a.js', sha256: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824', bytes: 5 },
      ]);
      expect(unmatched).toEqual(['*.log', 'missing/*']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('http input and status', () => {
  test.each([
    ['a URL that is not http(s)', { url: 'file:///etc/passwd' }, 'url', 'an http:// or https:// URL'],
    ['a body on GET', { url: 'http://127.0.0.1/', body: 'x' }, 'method', 'GET cannot carry a body; use POST, PUT or PATCH'],
    ['body and json', { url: 'http://127.0.0.1/', method: 'POST', body: 'x', json: {} }, 'json', 'give body or json, not both'],
    ['an Idempotency-Key of its own', { url: 'http://127.0.0.1/', headers: { 'idempotency-key': 'k' } }, 'headers', expect.stringContaining('ADOS sets Idempotency-Key itself')],
    ['a status out of range', { url: 'http://127.0.0.1/', expectStatus: [200, 700] }, 'expectStatus[1]', expect.stringContaining('an HTTP status, 100 to 599')],
  ])('%s is refused naming the field', (_name, input, field, message) => {
    expect(issues(httpInput, input)).toEqual([expect.objectContaining({ path: field, message })]);
  });

  test('expected status: any 2xx by default, else the listed ones; only "try later" statuses are retried', () => {
    expect([200, 204, 299, 301, 404].map((s) => statusExpected(s, undefined))).toEqual([true, true, true, false, false]);
    expect([201, 202].map((s) => statusExpected(s, 201))).toEqual([true, false]);
    expect([404, 410, 200].map((s) => statusExpected(s, [404, 410]))).toEqual([true, true, false]);
    expect([400, 401, 404, 409, 408, 425, 429, 500, 503].map(retryableStatus)).toEqual([false, false, false, false, true, true, true, true, true]);
  });

  test('Idempotency-Key: the same for every attempt of a task in a run and environment, different otherwise', () => {
    const task = { workflowId: 'delivery-acme-r1', environment: 'dev' as const, taskId: 'notify' };
    const key = idempotencyKey(task);
    expect(key).toMatch(/^ados-[0-9a-f]{40}$/);
    expect(idempotencyKey({ ...task })).toBe(key);
    expect(idempotencyKey({ ...task, environment: 'stage' })).not.toBe(key);
    expect(idempotencyKey({ ...task, taskId: 'notify2' })).not.toBe(key);
    expect(idempotencyKey({ ...task, workflowId: 'delivery-acme-r2' })).not.toBe(key);
  });
});

describe('ADOS_HTTP_ALLOWED_HOSTS', () => {
  test('the default is loopback only', () => {
    const allow = new HostAllowlist(loadConfig({}).httpAllowedHosts);
    expect(['127.0.0.1', '127.9.8.7', '[::1]', '::1', 'localhost', 'LOCALHOST'].map((h) => allow.allows(h))).toEqual([true, true, true, true, true, true]);
    expect(['10.0.0.1', '128.0.0.1', '[::2]', 'example.com', 'localhost.example.com', '169.254.169.254'].map((h) => allow.allows(h))).toEqual([
      false, false, false, false, false, false,
    ]);
  });

  test('addresses, ranges, names and wildcards', () => {
    const { entries, problems } = parseAllowedHosts(' 10.1.0.0/16, fd00::/8 ,192.168.1.5, api.internal, *.example.com ');
    expect(problems).toEqual([]);
    const allow = new HostAllowlist(entries);
    expect(['10.1.200.3', '[fd12::1]', '192.168.1.5', 'api.internal', 'a.example.com', 'b.a.example.com'].every((h) => allow.allows(h))).toBe(true);
    expect(['10.2.0.1', '192.168.1.6', 'example.com', 'api.internal.evil', 'xexample.com'].some((h) => allow.allows(h))).toBe(false);
    expect(new HostAllowlist(parseAllowedHosts('*').entries).allows('anything.example')).toBe(true);
  });

  test('a bad entry stops start-up naming the variable and the entry', () => {
    expect(() => loadConfig({ ADOS_HTTP_ALLOWED_HOSTS: 'localhost,10.0.0.0/40,http://x' })).toThrow(ConfigError);
    try {
      loadConfig({ ADOS_HTTP_ALLOWED_HOSTS: 'localhost,10.0.0.0/40,http://x' });
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        'ADOS_HTTP_ALLOWED_HOSTS="localhost,10.0.0.0/40,http://x": "10.0.0.0/40": the prefix length must be 0 to 32 (a comma-separated list of IPs, CIDR ranges, host names, *.domain or *)',
        'ADOS_HTTP_ALLOWED_HOSTS="localhost,10.0.0.0/40,http://x": "http://x": give the host alone, not a URL (a comma-separated list of IPs, CIDR ranges, host names, *.domain or *)',
      ]);
    }
  });
});
