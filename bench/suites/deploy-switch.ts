/**
 * `npm run bench -- deploy-switch`: deploy.process's blue/green switch, on examples/service built twice (two
 * versions, two artifact hashes), alternating SWITCHES times in one environment of a scratch runtime, while a
 * loopback poller GETs the environment's port every 10 ms on fresh connections. Reports the switch time (new
 * process started → traffic switched, health wait included), the whole deploy time (old release drained and
 * stopped too) and the failed polls during all switches (target 0). Nothing here asserts.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProcessRuntime } from '../../shared/node/runtime';
import { LoopbackPoller } from '../../test/helpers/loopback-poller';
import { freePort } from '../../test/helpers/temporal-server';
import { median, type BenchSuite } from '../harness';

const SWITCHES = 20;
const SERVICE_DIR = path.join(__dirname, '..', '..', 'examples', 'service');

export const suite: BenchSuite = {
  name: 'deploy-switch',
  description: `deploy.process blue/green: ${SWITCHES} switches of examples/service under a 10 ms loopback poller`,
  async run() {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ados-bench-deploy-'));
    const artifacts = ['1.0.0', '1.0.1'].map((version) => {
      const out = path.join(scratch, `build-${version}`);
      execFileSync(process.execPath, [path.join(SERVICE_DIR, 'build.mjs'), '--out', out, '--version', version], { stdio: 'ignore' });
      return out;
    });
    const runtime = new ProcessRuntime(path.join(scratch, 'runtime'));
    const ref = { tenant: 'bench', service: 'hello', environment: 'dev' };
    const port = await freePort();
    const deploy = (artifactDir: string) =>
      runtime.deploy(ref, { artifactDir, start: ['node', 'server.js'], port, env: {}, health: { path: '/health', expectStatus: 200, timeoutMs: 20_000 }, stopGraceMs: 5_000, deployedBy: 'bench' });
    const switchMs: number[] = [];
    const deployMs: number[] = [];
    try {
      await deploy(artifacts[0]);
      const poller = new LoopbackPoller(`http://127.0.0.1:${port}/health`, 10).start();
      for (let i = 1; i <= SWITCHES; i++) {
        const started = performance.now();
        const result = await deploy(artifacts[i % 2]);
        deployMs.push(performance.now() - started);
        switchMs.push(result.switchMs ?? NaN);
      }
      const stats = await poller.stop();
      const round = (n: number) => Math.round(n * 10) / 10;
      return {
        benchmark: 'deploy-switch',
        description: this.description,
        metrics: [
          { name: 'failed polls during all switches', value: stats.failed, unit: 'polls', target: { op: '<=', value: 0 } },
          { name: 'polls answered', value: stats.ok, unit: 'polls' },
          { name: 'median switch (start → switched)', value: round(median(switchMs)), unit: 'ms' },
          { name: 'max switch', value: round(Math.max(...switchMs)), unit: 'ms' },
          { name: 'median deploy (old release stopped too)', value: round(median(deployMs)), unit: 'ms' },
        ],
        notes: [
          `${SWITCHES} switches alternating two builds of examples/service; node ${process.version}, ${os.cpus().length} cores`,
          'a poll is one GET /health on a new connection through the environment proxy; a failure is any error or non-200',
          ...(stats.failures.length > 0 ? [`failures seen: ${stats.failures.join(', ')}`] : []),
        ],
        samples: { switchMs: switchMs.map(round), deployMs: deployMs.map(round) },
      };
    } finally {
      await runtime.stopAll();
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  },
};
