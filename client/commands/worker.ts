import type { Command } from 'commander';
import { createLogger } from '../../shared/node/logger';
import { planCapabilityWorkers } from '../../workers/capability-worker';
import { runWorkerProcess } from '../../workers/run-worker-process';
import { config } from './context';

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run a worker: --role control (workflows + database activities) or --capabilities a,b')
    .option('--role <role>', 'control | capabilities', 'capabilities')
    .option('--capabilities <list>', 'comma-separated capabilities to serve, e.g. build,deploy')
    .option('--max-concurrent <n>', 'activities this process runs at once, per capability (default 8)', Number)
    .option('--rate-limit <perSecond>', 'task-queue-wide activity rate limit, enforced by Temporal for the whole pool', Number)
    .option('--identity <id>', 'worker identity shown in Temporal (default: role-pid@host)')
    .action(async (opts: { role: string; capabilities?: string; maxConcurrent?: number; rateLimit?: number; identity?: string }) => {
      const cfg = config();
      const capabilities = (opts.capabilities ?? '').split(',').map((c) => c.trim()).filter(Boolean);
      const role = opts.role === 'control' ? 'control' : 'capabilities';
      if (opts.role !== 'control' && opts.role !== 'capabilities') {
        throw new Error(`--role must be control or capabilities (got "${opts.role}")`);
      }
      if (role === 'capabilities' && capabilities.length === 0) {
        throw new Error('--capabilities is required for a capability worker, e.g. --capabilities build,deploy');
      }
      // Refuse bad flags (unknown capability, --max-concurrent 0, --rate-limit x) before connecting to anything.
      if (role === 'capabilities') {
        planCapabilityWorkers({ capabilities, taskQueuePrefix: cfg.taskQueuePrefix, maxConcurrent: opts.maxConcurrent, maxTaskQueueActivitiesPerSecond: opts.rateLimit });
      }
      const logger = createLogger(role === 'control' ? 'ados-control' : 'ados-capabilities', cfg.logLevel);
      await runWorkerProcess(cfg, logger, {
        role,
        capabilities,
        maxConcurrent: opts.maxConcurrent,
        maxTaskQueueActivitiesPerSecond: opts.rateLimit,
        identity: opts.identity,
      });
    });
}
