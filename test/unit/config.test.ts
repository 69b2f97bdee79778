import { ConfigError, loadConfig, webUiWorkflowUrl } from '../../shared/node/config';

function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`expected loadConfig(${JSON.stringify(env)}) to throw`);
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
    });
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
