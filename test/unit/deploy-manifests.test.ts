/**
 * docker-compose.yml and deploy/k8s agree with the code that ran (deploy/cluster.ts, deploy/bootstrap.mjs, the
 * config): server and UI versions, Temporal service names, schema tool steps, shard count, dynamic config, search
 * attributes, ADOS's environment variables, task-queue prefix and worker pools. Nothing here runs a container (there
 * is no Docker engine or Kubernetes on the development machine); the files are parsed with the yaml package.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import {
  CLUSTER_DATABASES,
  CLUSTER_DYNAMIC_CONFIG,
  CLUSTER_HISTORY_SHARDS,
  CLUSTER_SERVICES,
  CLUSTER_SQL_PLUGIN,
  clusterDynamicConfig,
  clusterPorts,
  schemaToolSteps,
} from '../../deploy/cluster';
import { capabilityListFlag } from '../../shared/contract/capability-list';
import { ADOS_SEARCH_ATTRIBUTES } from '../../shared/contract/search-attributes';
import { DEFAULT_TASK_QUEUE_PREFIX } from '../../shared/contract/task-queues';
import { ConfigError, loadClusterConfig, loadConfig, loadTemporalSecurityConfig } from '../../shared/node/config';
import { PROJECT_ROOT } from '../helpers/toolchain';

type Doc = Record<string, any>;
const read = (file: string) => fs.readFileSync(path.join(PROJECT_ROOT, file), 'utf8');
// Compose files use YAML merge keys (<<), which YAML 1.2 leaves off unless asked.
const compose = YAML.parse(read('docker-compose.yml'), { merge: true }) as Doc;
const k8sTemporal = YAML.parseAllDocuments(read('deploy/k8s/temporal.yaml')).map((d) => d.toJS() as Doc);
const k8sWorkers = YAML.parseAllDocuments(read('deploy/k8s/workers.yaml')).map((d) => d.toJS() as Doc);
const k8sObject = (docs: Doc[], kind: string, name: string): Doc => {
  const found = docs.find((d) => d.kind === kind && d.metadata?.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in deploy/k8s`);
  return found;
};

/** The bootstrap's pinned versions, from the module itself (plain ESM, so a child node imports it). */
const versions = (() => {
  const script = `import('${path.join(PROJECT_ROOT, 'deploy', 'bootstrap.mjs')}').then((m) => console.log(JSON.stringify({ server: m.TEMPORAL_SERVER_VERSION, ui: m.TEMPORAL_UI_VERSION })))`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`could not read deploy/bootstrap.mjs: ${r.stderr}`);
  return JSON.parse(r.stdout) as { server: string; ui: string };
})();

/** The Temporal services of the cluster (one history Deployment/service: replicas scale it). */
const TEMPORAL_SERVICES = CLUSTER_SERVICES.filter((s) => s !== 'history-2');
const serviceName = (service: string) => `temporal-${service}`;

/** `temporal-sql-tool` subcommands of a schema script, per database, with the loop variables filled in. */
function schemaScriptSteps(script: string): Record<string, string[][]> {
  const loop = /for db in ([^;]+); do/.exec(script);
  if (!loop) throw new Error(`no database loop in the schema script:\n${script}`);
  const commands = [...script.matchAll(/temporal-sql-tool --db "\$name" ([^;\n]+?)(?:;|\n|$)/g)].map((m) => m[1].replace(/; then.*$/, '').trim());
  const steps: Record<string, string[][]> = {};
  for (const pair of loop[1].trim().split(/\s+/)) {
    const [name, schema] = pair.split(':');
    steps[name] = commands.map((command) => command.replace(/"\/etc\/temporal\/schema\/postgresql\/v12\/\$schema\/versioned"/, `/etc/temporal/schema/postgresql/v12/${schema}/versioned`).split(' '));
  }
  return steps;
}

/** What the code runs: schemaToolSteps on a fresh database, without the connection flags. */
const codeSteps = Object.fromEntries(
  CLUSTER_DATABASES.map((db) => [db.name, schemaToolSteps('/etc/temporal', 5432, db, true).map((args) => args.slice(args.indexOf('--db') + 2))]),
);

/** Search attributes `name:Type` created by a namespace script. */
function scriptSearchAttributes(script: string): string[] {
  const list = /for attribute in ([^;]+); do/.exec(script);
  return list ? list[1].trim().split(/\s+/) : [];
}
const codeSearchAttributes = ADOS_SEARCH_ATTRIBUTES.map((key) => `${key.name}:${key.type === 'BOOL' ? 'Bool' : 'Keyword'}`);

/** A variable is ADOS's when setting it changes what a config loader returns, or a bad value is refused naming it. */
function readByAdosConfig(name: string, value: string): boolean {
  const loaders = [loadConfig, loadTemporalSecurityConfig, loadClusterConfig] as const;
  if (loaders.some((load) => JSON.stringify(load({ [name]: value })) !== JSON.stringify(load({})))) return true;
  return loaders.some((load) => {
    try {
      load({ [name]: '%% not a valid value %%' });
      return false;
    } catch (error) {
      return error instanceof ConfigError && error.message.includes(name);
    }
  });
}

/** The capability lists of worker commands (`worker --capabilities a,b`), each checked against the registry. */
function workerPools(commands: string[][]): { control: number; pools: string[][] } {
  let control = 0;
  const pools: string[][] = [];
  for (const args of commands) {
    if (args[0] !== 'worker') continue;
    if (args.includes('--role') && args[args.indexOf('--role') + 1] === 'control') control++;
    const i = args.indexOf('--capabilities');
    if (i >= 0) pools.push(capabilityListFlag.parse(args[i + 1]));
  }
  return { control, pools };
}

const composeScript = (service: string): string => (compose.services[service].command as string[])[0];
const k8sJobScript = (name: string): string => k8sObject(k8sTemporal, 'Job', name).spec.template.spec.containers[0].args[0];

describe('docker-compose.yml', () => {
  it('runs each Temporal service of the cluster as a service of its own, on the bootstrap\'s server version', () => {
    for (const service of TEMPORAL_SERVICES) {
      const spec = compose.services[serviceName(service)];
      expect(spec).toBeDefined();
      expect(spec.image).toBe(`temporalio/server:${versions.server}`);
      expect(spec.environment.SERVICES).toBe(service);
      // The losers of the cluster-metadata race on a fresh database exit; started again, they find the record.
      expect(spec.restart).toBe('on-failure');
    }
    expect(compose.services['temporal-schema'].image).toBe(`temporalio/admin-tools:${versions.server}`);
    expect(compose.services['temporal-namespace'].image).toBe(`temporalio/admin-tools:${versions.server}`);
    expect(compose.services['temporal-ui'].image).toBe(`temporalio/ui:${versions.ui}`);
  });

  it('gives the servers the cluster\'s persistence: SQL plugin, databases, shard count, dynamic config file', () => {
    const env = compose.services['temporal-history'].environment;
    expect(env).toMatchObject({
      DB: CLUSTER_SQL_PLUGIN,
      DBNAME: CLUSTER_DATABASES[0].name,
      VISIBILITY_DBNAME: CLUSTER_DATABASES[1].name,
      NUM_HISTORY_SHARDS: String(CLUSTER_HISTORY_SHARDS),
    });
    expect(compose.services['temporal-history'].volumes).toEqual([`./deploy/cluster-dynamicconfig.yaml:${env.DYNAMIC_CONFIG_FILE_PATH}:ro`]);
    expect(compose.services['temporal-schema'].environment.SQL_PLUGIN).toBe(CLUSTER_SQL_PLUGIN);
  });

  it('sets up the schema with the same tool steps as `ados cluster up`', () => {
    expect(schemaScriptSteps(composeScript('temporal-schema').replace(/\$\$/g, '$'))).toEqual(codeSteps);
  });

  it('registers ADOS\'s search attributes with their types on the `default` namespace', () => {
    expect(scriptSearchAttributes(composeScript('temporal-namespace').replace(/\$\$/g, '$'))).toEqual(codeSearchAttributes);
    expect(composeScript('temporal-namespace')).toContain('temporal operator namespace create --retention 72h default');
  });

  it('publishes the frontend and the Web UI on the ports of `ados cluster`', () => {
    const ports = clusterPorts(loadClusterConfig({}));
    expect(compose.services['temporal-frontend'].ports).toEqual([`${ports.frontend}:7233`]);
    expect(compose.services['temporal-ui'].ports).toEqual([`${ports.ui}:8080`]);
  });

  it('configures the workers and the CLI with variables ADOS reads, pointed at the frontend service', () => {
    const env = compose.services['worker-control'].environment as Record<string, string>;
    for (const [name, value] of Object.entries(env)) expect({ name, read: readByAdosConfig(name, value) }).toEqual({ name, read: true });
    expect(env.TEMPORAL_ADDRESS).toBe('temporal-frontend:7233');
    expect(env.ADOS_TASK_QUEUE_PREFIX).toBe(DEFAULT_TASK_QUEUE_PREFIX);
    expect(env.ADOS_WEB_UI_URL).toBe(`http://localhost:${clusterPorts(loadClusterConfig({})).ui}`);
    for (const service of ['worker-build-deploy', 'worker-verify-analysis', 'cli']) expect(compose.services[service].environment).toEqual(env);
  });

  it('runs a control worker and capability pools of registered capabilities', () => {
    const commands = Object.values(compose.services as Record<string, Doc>).filter((s) => Array.isArray(s.command) && s.command[0] === 'worker').map((s) => s.command as string[]);
    const { control, pools } = workerPools(commands);
    expect(control).toBe(1);
    expect(pools.length).toBeGreaterThanOrEqual(2);
  });
});

describe('deploy/cluster-dynamicconfig.yaml', () => {
  it('holds exactly the dynamic config `ados cluster up` sets', () => {
    expect(YAML.parse(read('deploy/cluster-dynamicconfig.yaml'))).toEqual(clusterDynamicConfig('', CLUSTER_DYNAMIC_CONFIG));
  });
});

describe('deploy/k8s', () => {
  it('runs each Temporal service as a Deployment of the same name and version as docker-compose.yml', () => {
    for (const service of TEMPORAL_SERVICES) {
      const deployment = k8sObject(k8sTemporal, 'Deployment', serviceName(service));
      const container = deployment.spec.template.spec.containers[0];
      expect(container.image).toBe(compose.services[serviceName(service)].image);
      expect(container.env).toContainEqual({ name: 'SERVICES', value: service });
      // A Deployment's pods restart (Always, the only policy it allows), as compose's services do on failure.
      expect(deployment.spec.template.spec.restartPolicy ?? 'Always').toBe('Always');
    }
    expect(k8sObject(k8sTemporal, 'Deployment', 'temporal-ui').spec.template.spec.containers[0].image).toBe(compose.services['temporal-ui'].image);
    for (const job of ['temporal-schema', 'temporal-namespace']) {
      expect(k8sObject(k8sTemporal, 'Job', job).spec.template.spec.containers[0].image).toBe(compose.services[job].image);
    }
  });

  it('gives the servers the same persistence settings as docker-compose.yml (hosts and secrets aside)', () => {
    const data = k8sObject(k8sTemporal, 'ConfigMap', 'temporal-env').data as Record<string, string>;
    const { POSTGRES_SEEDS, POSTGRES_PWD, PUBLIC_FRONTEND_ADDRESS, ...composeEnv } = compose['x-temporal-env'] as Record<string, string>;
    const { POSTGRES_SEEDS: k8sSeeds, PUBLIC_FRONTEND_ADDRESS: k8sFrontend, BIND_ON_IP, ...k8sEnv } = data;
    expect(k8sEnv).toEqual(composeEnv);
    expect({ POSTGRES_SEEDS, POSTGRES_PWD, PUBLIC_FRONTEND_ADDRESS, k8sSeeds, k8sFrontend, BIND_ON_IP }).toEqual({
      POSTGRES_SEEDS: 'postgres',
      POSTGRES_PWD: 'ados',
      PUBLIC_FRONTEND_ADDRESS: 'temporal-frontend:7233',
      k8sSeeds: 'postgres.temporal.svc',
      k8sFrontend: 'temporal-frontend.temporal.svc:7233',
      BIND_ON_IP: '0.0.0.0',
    });
    const dynamic = k8sObject(k8sTemporal, 'ConfigMap', 'temporal-dynamic-config').data['cluster-dynamicconfig.yaml'];
    expect(YAML.parse(dynamic)).toEqual(clusterDynamicConfig('', CLUSTER_DYNAMIC_CONFIG));
  });

  it('runs the same schema steps and namespace set-up as docker-compose.yml', () => {
    expect(schemaScriptSteps(k8sJobScript('temporal-schema'))).toEqual(codeSteps);
    expect(k8sJobScript('temporal-schema')).toBe(composeScript('temporal-schema').replace(/\$\$/g, '$'));
    expect(scriptSearchAttributes(k8sJobScript('temporal-namespace'))).toEqual(codeSearchAttributes);
    expect(k8sJobScript('temporal-namespace')).toBe(composeScript('temporal-namespace').replace(/\$\$/g, '$'));
  });

  it('points the workers at the frontend Service, with the variables and pools of docker-compose.yml', () => {
    const config = k8sObject(k8sWorkers, 'ConfigMap', 'ados-config').data as Record<string, string>;
    const frontend = k8sObject(k8sTemporal, 'Service', 'temporal-frontend');
    expect(config.TEMPORAL_ADDRESS).toBe(`${frontend.metadata.name}.${frontend.metadata.namespace}.svc:${frontend.spec.ports[0].port}`);
    for (const [name, value] of Object.entries(config)) expect({ name, read: readByAdosConfig(name, value) }).toEqual({ name, read: true });
    const composeEnv = compose.services['worker-control'].environment as Record<string, string>;
    const same = (env: Record<string, string>) => Object.keys(env).filter((k) => !['TEMPORAL_ADDRESS', 'DATABASE_URL', 'ADOS_WEB_UI_URL'].includes(k)).sort();
    expect(same(config)).toEqual(same(composeEnv));
    for (const key of same(config)) expect({ key, value: config[key] }).toEqual({ key, value: composeEnv[key] });

    const deployments = k8sWorkers.filter((d) => d.kind === 'Deployment');
    const k8sPools = workerPools(deployments.map((d) => d.spec.template.spec.containers[0].args as string[]));
    const composePools = workerPools(Object.values(compose.services as Record<string, Doc>).filter((s) => Array.isArray(s.command)).map((s) => s.command as string[]));
    expect(k8sPools.control).toBe(1);
    expect(k8sPools.pools).toEqual(composePools.pools);
  });
});
