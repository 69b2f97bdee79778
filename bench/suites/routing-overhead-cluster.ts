/**
 * `npm run bench -- routing-overhead-cluster`: the routing-overhead benchmark (bench/suites/routing-overhead.ts: a
 * 100-task DAG through deliveryRun and through the bare floor workflow) on the multi-service Temporal cluster of
 * `ados cluster up` (deploy/cluster.ts: PostgreSQL persistence, two history processes, matching, frontend, worker),
 * against the same benchmark on the dev server. Ratios reported, no target: the cluster trades latency (every
 * history write is a PostgreSQL transaction, every hop a process boundary) for what one machine cannot give.
 *
 * The cluster runs under a scratch data directory on ports of its own, and is brought down (and its directory
 * removed) at the end. It needs the cluster's binaries: `node deploy/bootstrap.mjs --cluster`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { clusterDown, clusterLayout, clusterUp } from '../../deploy/cluster';
import { clusterToolchain, PROJECT_ROOT } from '../../deploy/toolchain';
import { loadClusterConfig, loadConfig } from '../../shared/node/config';
import { median, type BenchReport, type BenchSuite } from '../harness';
import { alternateRuns, startRoutingStack, type Sample } from './routing-overhead';

const CLUSTER_ENV = {
  ADOS_CLUSTER_FRONTEND_PORT: '7273',
  ADOS_CLUSTER_UI_PORT: '8273',
  ADOS_CLUSTER_PG_PORT: '55473',
  ADOS_CLUSTER_HISTORY_PROCESSES: '2',
};

interface Side {
  ados: Sample[];
  floor: Sample[];
}

async function measure(temporalAddress: string | undefined, label: string): Promise<Side> {
  const stack = await startRoutingStack(temporalAddress);
  try {
    return await alternateRuns(stack, label);
  } finally {
    await stack.stop();
  }
}

export const suite: BenchSuite = {
  name: 'routing-overhead-cluster',
  description: 'the routing-overhead DAG (100 no-op tasks, ADOS and the bare floor) on the multi-service Temporal cluster against the dev server; ratios, no target',
  async run(): Promise<BenchReport> {
    clusterToolchain(); // refuses, naming `node deploy/bootstrap.mjs --cluster`, when the binaries are not built
    const dataDir = path.join(PROJECT_ROOT, '.ados', 'tmp', `bench-cluster-${process.pid}`);
    const env = { ...CLUSTER_ENV, ADOS_DATA_DIR: dataDir };
    const layout = clusterLayout(loadConfig(env), loadClusterConfig(env));
    let up: Awaited<ReturnType<typeof clusterUp>>;
    let cluster: Side;
    try {
      up = await clusterUp(layout);
      process.stdout.write(`  [routing-overhead-cluster] cluster up in ${up.seconds} s at ${up.temporalAddress}\n`);
      cluster = await measure(up.temporalAddress, 'routing-overhead-cluster: cluster');
    } finally {
      await clusterDown(layout).catch(() => undefined);
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
    const dev = await measure(undefined, 'routing-overhead-cluster: dev server');
    const ms = (samples: Sample[]) => median(samples.map((s) => s.ms));
    const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;
    const clusterAdos = ms(cluster.ados);
    const clusterFloor = ms(cluster.floor);
    const devAdos = ms(dev.ados);
    const devFloor = ms(dev.floor);
    return {
      benchmark: 'routing-overhead-cluster',
      description: suite.description,
      metrics: [
        { name: 'cluster / dev server, ADOS run (ratio of medians)', value: ratio(clusterAdos, devAdos), unit: 'x' },
        { name: 'cluster / dev server, floor run (ratio of medians)', value: ratio(clusterFloor, devFloor), unit: 'x' },
        { name: 'ADOS / floor on the cluster', value: ratio(clusterAdos, clusterFloor), unit: 'x' },
        { name: 'ADOS / floor on the dev server', value: ratio(devAdos, devFloor), unit: 'x' },
        { name: 'cluster: ADOS run (median)', value: clusterAdos, unit: 'ms' },
        { name: 'cluster: floor run (median)', value: clusterFloor, unit: 'ms' },
        { name: 'dev server: ADOS run (median)', value: devAdos, unit: 'ms' },
        { name: 'dev server: floor run (median)', value: devFloor, unit: 'ms' },
        { name: 'cluster: history events per ADOS run (median)', value: median(cluster.ados.map((s) => s.events)), unit: 'events' },
        { name: 'cluster start-up (ados cluster up, cold)', value: up.seconds, unit: 's' },
      ],
      notes: [
        `Cluster: ${up.started.join(', ')} as separate processes (deploy/cluster.ts), persistence and visibility on the Debian PostgreSQL server, frontend ${up.temporalAddress}; the dev server: the pinned Temporal CLI's start-dev on SQLite in memory.`,
        'Both sides run the routing-overhead DAG the same way (bench/suites/routing-overhead.ts: one warm-up of each, then alternating ADOS and floor runs, workers in this process, the benchmark database for ADOS\'s own tables); the cluster first, then the dev server.',
        'No target: the issue asks for the ratio. Both run on this one machine, so the cluster\'s processes share its cores with the workers.',
      ],
      samples: { clusterAdosMs: cluster.ados.map((s) => s.ms), clusterFloorMs: cluster.floor.map((s) => s.ms), devAdosMs: dev.ados.map((s) => s.ms), devFloorMs: dev.floor.map((s) => s.ms) },
    };
  },
};
