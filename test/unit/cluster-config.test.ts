/**
 * The local Temporal cluster's generated configuration (deploy/cluster.ts), without starting anything: ports, the
 * server config derived from the module's development-postgres12.yaml, dynamic config, the Web UI's config, the
 * schema tool steps, and the ADOS_CLUSTER_* variables.
 */
import YAML from 'yaml';
import {
  CLUSTER_DYNAMIC_CONFIG,
  CLUSTER_HISTORY_SHARDS,
  clusterDynamicConfig,
  clusterLayout,
  clusterServices,
  configEnvFor,
  schemaToolSteps,
  temporalServerConfig,
  uiServerConfig,
} from '../../deploy/cluster';
import { loadClusterConfig, loadConfig } from '../../shared/node/config';

/** The parts of the module's config/development-postgres12.yaml (v1.29.1) that temporalServerConfig reads or replaces. */
const MODULE_CONFIG = `
log: { stdout: true, level: info }
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: 4
  datastores:
    postgres-default:
      sql: { pluginName: postgres12, databaseName: temporal, connectAddr: "127.0.0.1:5432", connectProtocol: tcp, user: temporal, password: temporal }
    postgres-visibility:
      sql: { pluginName: postgres12, databaseName: temporal_visibility, connectAddr: "127.0.0.1:5432", connectProtocol: tcp, user: temporal, password: temporal }
global:
  membership: { maxJoinDuration: 30s, broadcastAddress: "127.0.0.1" }
  pprof: { port: 7936 }
  metrics: { prometheus: { framework: tally, listenAddress: "127.0.0.1:8000" } }
services:
  frontend: { rpc: { grpcPort: 7233, membershipPort: 6933, bindOnLocalHost: true, httpPort: 7243 } }
clusterMetadata:
  currentClusterName: active
  clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: frontend, rpcAddress: "localhost:7233" } }
archival: { history: { state: enabled } }
dynamicConfigClient: { filepath: config/dynamicconfig/development-sql.yaml, pollInterval: 10s }
`;

const layout = clusterLayout(loadConfig({ ADOS_DATA_DIR: '/var/ados' }), loadClusterConfig({ ADOS_CLUSTER_HISTORY_PROCESSES: '2' }));

describe('cluster ports and layout', () => {
  it('keeps every port apart, and away from the dev server (7233, 8233) and npm start\'s PGlite (55432)', () => {
    const { ports } = layout;
    const grpc = [ports.frontend, ports.frontendHttp, ports.history, ports.matching, ports.worker, ports.history2];
    const all = [...grpc, ...[ports.frontend, ports.history, ports.matching, ports.worker, ports.history2].map(ports.membership), ports.ui, ports.postgres];
    expect(new Set(all).size).toBe(all.length);
    for (const taken of [7233, 8233, 55432, 6933, 6934, 6935, 6939]) expect(all).not.toContain(taken);
    expect(ports.frontend).toBe(7243);
  });

  it('lives under <ADOS_DATA_DIR>/cluster and runs history-2 only when asked for', () => {
    expect(layout.root).toBe('/var/ados/cluster');
    expect(clusterServices(layout)).toEqual(['history', 'history-2', 'matching', 'frontend', 'worker']);
    expect(clusterServices({ historyProcesses: 1 })).toEqual(['history', 'matching', 'frontend', 'worker']);
  });

  it('refuses bad ADOS_CLUSTER_* values, naming the variable', () => {
    expect(() => loadClusterConfig({ ADOS_CLUSTER_HISTORY_PROCESSES: '3' })).toThrow(/ADOS_CLUSTER_HISTORY_PROCESSES="3": must be 1 or 2/);
    expect(() => loadClusterConfig({ ADOS_CLUSTER_FRONTEND_PORT: '80' })).toThrow(/ADOS_CLUSTER_FRONTEND_PORT="80": must be a TCP port/);
  });
});

describe('temporalServerConfig', () => {
  const config = temporalServerConfig(MODULE_CONFIG, layout, configEnvFor('history')) as Record<string, any>;

  it('points both stores at the cluster\'s PostgreSQL as the postgres role, with the fixed shard count', () => {
    for (const store of ['postgres-default', 'postgres-visibility']) {
      expect(config.persistence.datastores[store].sql).toMatchObject({ connectAddr: `127.0.0.1:${layout.ports.postgres}`, user: 'postgres', password: '' });
    }
    expect(config.persistence.datastores['postgres-visibility'].sql.databaseName).toBe('temporal_visibility');
    expect(config.persistence.numHistoryShards).toBe(CLUSTER_HISTORY_SHARDS);
  });

  it('gives each service its ports, and the cluster its frontend address; no metrics listener, pprof or archival', () => {
    expect(config.services.frontend.rpc).toEqual({ grpcPort: 7243, membershipPort: 6943, bindOnLocalHost: true, httpPort: 7244 });
    expect(config.services.history.rpc.grpcPort).toBe(layout.ports.history);
    expect(config.clusterMetadata.clusterInformation.active.rpcAddress).toBe('127.0.0.1:7243');
    expect(config.global.metrics).toBeUndefined();
    expect(config.global.pprof).toBeUndefined();
    expect(config.archival).toEqual({ history: { state: 'disabled' }, visibility: { state: 'disabled' } });
    expect(config.dynamicConfigClient.filepath).toBe('/var/ados/cluster/config/dynamicconfig.yaml');
  });

  it('differs for the second history process in its history ports only', () => {
    const second = temporalServerConfig(MODULE_CONFIG, layout, configEnvFor('history-2')) as Record<string, any>;
    expect(second.services.history.rpc).toEqual({ grpcPort: layout.ports.history2, membershipPort: layout.ports.membership(layout.ports.history2), bindOnLocalHost: true });
    expect({ ...second, services: { ...second.services, history: config.services.history } }).toEqual(config);
  });
});

describe('dynamic config and the Web UI', () => {
  it('adds ADOS\'s values to the module\'s dynamic config, in its list form', () => {
    const merged = clusterDynamicConfig(YAML.stringify({ 'limit.maxIDLength': [{ value: 255, constraints: {} }] }));
    expect(merged).toEqual({
      'limit.maxIDLength': [{ value: 255, constraints: {} }],
      ...Object.fromEntries(Object.entries(CLUSTER_DYNAMIC_CONFIG).map(([key, value]) => [key, [{ value, constraints: {} }]])),
    });
    expect(CLUSTER_DYNAMIC_CONFIG).toMatchObject({ 'matching.useNewMatcher': true, 'matching.enableFairness': true });
  });

  it('points the Web UI at the frontend, on loopback, opening the namespace', () => {
    expect(uiServerConfig(layout)).toMatchObject({ temporalGrpcAddress: '127.0.0.1:7243', host: '127.0.0.1', port: 8243, defaultNamespace: 'default' });
  });
});

describe('schemaToolSteps', () => {
  const db = { name: 'temporal_visibility', schema: 'visibility' } as const;
  const common = ['--plugin', 'postgres12', '--ep', '127.0.0.1', '-p', '55433', '-u', 'postgres', '--db', 'temporal_visibility'];

  it('creates, sets up 0.0 and updates from the versioned dir on a fresh database', () => {
    expect(schemaToolSteps('/tools/module', 55433, db, true)).toEqual([
      [...common, 'create'],
      [...common, 'setup-schema', '-v', '0.0'],
      [...common, 'update-schema', '-d', '/tools/module/schema/postgresql/v12/visibility/versioned'],
    ]);
  });

  it('only updates a database that has its schema', () => {
    expect(schemaToolSteps('/tools/module', 55433, db, false)).toEqual([[...common, 'update-schema', '-d', '/tools/module/schema/postgresql/v12/visibility/versioned']]);
  });
});
