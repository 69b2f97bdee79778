import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, loadBenchConfig, loadConfig, loadNabDataDir, webUiWorkflowUrl } from '../../shared/node/config';

function configError(env: Record<string, string | undefined>, load: (env: Record<string, string | undefined>) => unknown = loadConfig): ConfigError {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`expected ${load.name}(${JSON.stringify(env)}) to throw`);
}

describe('loadConfig', () => {
  it('applies the defaults when nothing is set', () => {
    expect(loadConfig({})).toEqual({
      temporalAddress: '127.0.0.1:7233',
      temporalNamespace: 'default',
      databaseUrl: undefined,
      taskQueuePrefix: 'ados',
      logLevel: 'info',
      dataDir: '.ados',
      webUiUrl: 'http://localhost:8233',
      workerShutdownGrace: '30s',
      embeddedDbPort: 55432,
      sampleRun: true,
      toolsDir: join(homedir(), '.cache', 'ados', 'tools'),
      httpAllowedHosts: ['127.0.0.0/8', '::1', 'localhost'],
      capabilityModules: [],
      kubeContext: undefined,
      kubectl: 'kubectl',
      metricsPort: undefined,
      metricsHost: '127.0.0.1',
      workflowBundle: undefined,
      workspaceDir: resolve('.ados', 'workspaces'),
      execLauncher: 'auto',
    });
  });

  it('reads every variable', () => {
    expect(
      loadConfig({
        TEMPORAL_ADDRESS: 'temporal.internal:7233',
        TEMPORAL_NAMESPACE: 'ados-prod',
        DATABASE_URL: 'postgres://ados@db:5432/ados',
        ADOS_TASK_QUEUE_PREFIX: 'team_a-1',
        LOG_LEVEL: 'debug',
        ADOS_DATA_DIR: '/var/lib/ados',
        ADOS_WEB_UI_URL: 'http://ui.internal:8080/',
        ADOS_WORKER_SHUTDOWN_GRACE: '500ms',
        ADOS_EMBEDDED_DB_PORT: '6543',
        ADOS_SAMPLE_RUN: '0',
        ADOS_TOOLS_DIR: '/opt/ados-tools',
        ADOS_CAPABILITY_MODULES: ' caps/a.ts, caps/b.ts ,',
        ADOS_KUBE_CONTEXT: 'prod-eu',
        ADOS_KUBECTL: '/usr/local/bin/kubectl',
        ADOS_WORKSPACE_DIR: '/scratch/ados',
        ADOS_METRICS_PORT: '9464',
        ADOS_METRICS_HOST: '0.0.0.0',
        ADOS_WORKFLOW_BUNDLE: '/opt/ados/workflow-bundle.js',
        ADOS_EXEC_LAUNCHER: '/opt/ados/bin/ados-spawner',
      }),
    ).toEqual({
      temporalAddress: 'temporal.internal:7233',
      temporalNamespace: 'ados-prod',
      databaseUrl: 'postgres://ados@db:5432/ados',
      taskQueuePrefix: 'team_a-1',
      logLevel: 'debug',
      dataDir: '/var/lib/ados',
      webUiUrl: 'http://ui.internal:8080',
      workerShutdownGrace: '500ms',
      embeddedDbPort: 6543,
      sampleRun: false,
      toolsDir: '/opt/ados-tools',
      httpAllowedHosts: ['127.0.0.0/8', '::1', 'localhost'],
      capabilityModules: ['caps/a.ts', 'caps/b.ts'],
      kubeContext: 'prod-eu',
      kubectl: '/usr/local/bin/kubectl',
      metricsPort: 9464,
      metricsHost: '0.0.0.0',
      workflowBundle: '/opt/ados/workflow-bundle.js',
      workspaceDir: '/scratch/ados',
      execLauncher: '/opt/ados/bin/ados-spawner',
    });
  });

  it('resolves a relative ADOS_TOOLS_DIR, as the bootstrap does', () => {
    expect(loadConfig({ ADOS_TOOLS_DIR: 'tools' }).toolsDir).toBe(resolve('tools'));
  });

  it('ignores unrelated variables', () => {
    expect(loadConfig({ PATH: '/usr/bin', HOME: '/root' }).temporalAddress).toBe('127.0.0.1:7233');
  });

  it('treats empty strings as unset', () => {
    const config = loadConfig({ TEMPORAL_ADDRESS: '', DATABASE_URL: '', LOG_LEVEL: '', ADOS_TASK_QUEUE_PREFIX: '', ADOS_WEB_UI_URL: '' });
    expect(config.temporalAddress).toBe('127.0.0.1:7233');
    expect(config.databaseUrl).toBeUndefined();
    expect(config.logLevel).toBe('info');
    expect(config.taskQueuePrefix).toBe('ados');
    expect(config.webUiUrl).toBe('http://localhost:8233');
  });

  it.each(['pglite:.ados/pg', 'pglite:/tmp/ados-db', 'pglite:', 'postgres://u@h:5432/d', 'postgresql://u:p@h/d'])('accepts DATABASE_URL=%s', (url) => {
    expect(loadConfig({ DATABASE_URL: url }).databaseUrl).toBe(url);
  });

  it.each([
    ['TEMPORAL_ADDRESS', 'localhost', 'must be host:port'],
    ['TEMPORAL_ADDRESS', 'http://localhost:7233', 'must be host:port'],
    ['DATABASE_URL', 'mysql://u@h/d', 'must be postgres://'],
    ['DATABASE_URL', 'postgres://', 'must be postgres://'],
    ['ADOS_TASK_QUEUE_PREFIX', 'Ados', 'must be lowercase letters'],
    ['ADOS_TASK_QUEUE_PREFIX', 'ados.prod', 'must be lowercase letters'],
    ['LOG_LEVEL', 'verbose', '"info"'],
    ['TEMPORAL_NAMESPACE', '-ns', 'namespace'],
    ['ADOS_WEB_UI_URL', 'not a url', 'must be a URL'],
    ['ADOS_WORKER_SHUTDOWN_GRACE', '1h', 'such as 30s'],
    ['ADOS_EMBEDDED_DB_PORT', 'abc', 'must be a TCP port: a whole number from 1 to 65535'],
    ['ADOS_EMBEDDED_DB_PORT', '0', 'must be a TCP port: a whole number from 1 to 65535'],
    ['ADOS_EMBEDDED_DB_PORT', '70000', 'must be a TCP port: a whole number from 1 to 65535'],
    ['ADOS_EMBEDDED_DB_PORT', '5432.5', 'must be a TCP port'],
    ['ADOS_SAMPLE_RUN', 'yes', 'must be 1 (start the sample run) or 0 (skip it)'],
  ])('refuses %s=%s with a message naming the variable and its value', (name, value, hint) => {
    const error = configError({ [name]: value });
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0].startsWith(`${name}=${JSON.stringify(value)}: `)).toBe(true);
    expect(error.problems[0]).toContain(hint);
    expect(error.message).toContain(`${name}=${JSON.stringify(value)}`);
    expect(error.message.startsWith('invalid configuration:')).toBe(true);
    expect(error.name).toBe('ConfigError');
  });

  it('reports every bad variable at once', () => {
    const error = configError({ TEMPORAL_ADDRESS: 'nohost', LOG_LEVEL: 'loud', DATABASE_URL: 'sqlite:x.db' });
    expect(error.problems.map((p) => p.split('=')[0]).sort()).toEqual(['DATABASE_URL', 'LOG_LEVEL', 'TEMPORAL_ADDRESS']);
  });

  it('builds Web UI links with the namespace and workflow id encoded', () => {
    const config = loadConfig({ ADOS_WEB_UI_URL: 'http://localhost:8233/', TEMPORAL_NAMESPACE: 'default' });
    expect(webUiWorkflowUrl(config, 'delivery-acme-r 1')).toBe('http://localhost:8233/namespaces/default/workflows/delivery-acme-r%201');
  });
});

describe('loadBenchConfig', () => {
  it('applies the defaults when nothing is set', () => {
    expect(loadBenchConfig({})).toEqual({ database: undefined, repeats: 7, failoverKills: 20 });
  });

  it('reads every knob', () => {
    expect(loadBenchConfig({ ADOS_BENCH_DATABASE: 'pglite', ADOS_BENCH_REPEATS: '3', ADOS_BENCH_FAILOVER_KILLS: '5' })).toEqual({
      database: 'pglite',
      repeats: 3,
      failoverKills: 5,
    });
  });

  it.each([
    ['ADOS_BENCH_DATABASE', 'mysql', 'must be pglite or postgres'],
    ['ADOS_BENCH_REPEATS', 'seven', 'must be a number of runs: a whole number from 1 to 1000'],
    ['ADOS_BENCH_REPEATS', '0', 'must be a number of runs: a whole number from 1 to 1000'],
    ['ADOS_BENCH_FAILOVER_KILLS', '-1', 'must be a number of kills: a whole number from 1 to 1000'],
  ])('refuses %s=%s with a message naming the variable and its value', (name, value, hint) => {
    const error = configError({ [name]: value }, loadBenchConfig);
    expect(error.problems).toEqual([`${name}=${JSON.stringify(value)}: ${hint}`]);
  });

  it('is apart from the ADOS configuration: neither reads the other\'s variables', () => {
    expect(() => loadConfig({ ADOS_BENCH_REPEATS: 'seven' })).not.toThrow();
    expect(() => loadBenchConfig({ ADOS_EMBEDDED_DB_PORT: 'abc' })).not.toThrow();
  });
});

describe('loadNabDataDir', () => {
  const projectRoot = resolve(__dirname, '..', '..');

  it('takes ADOS_NAB_DATA_DIR as given', () => {
    expect(loadNabDataDir({ ADOS_NAB_DATA_DIR: 'data/nab' }, () => false)).toBe(resolve('data/nab'));
  });

  it('looks for shared/data/nab beside the project first, then in the directories above it', () => {
    const beside = join(projectRoot, '..', 'shared', 'data', 'nab');
    expect(loadNabDataDir({}, (p) => p === resolve(beside))).toBe(resolve(beside));
    const above = join(projectRoot, '..', '..', 'shared', 'data', 'nab');
    expect(loadNabDataDir({}, (p) => p === resolve(above))).toBe(resolve(above));
  });

  it('names ADOS_NAB_DATA_DIR when the data is nowhere', () => {
    expect(() => loadNabDataDir({}, () => false)).toThrow(ConfigError);
    expect(() => loadNabDataDir({}, () => false)).toThrow(/ADOS_NAB_DATA_DIR: unset.*set it to the NAB subset's directory/);
  });
});
