/**
 * The worker process: `ados worker …` (client/bin/ados.cjs hands that command here) or `npm run worker -- …`. Its
 * flags are parsed with zod (worker-flags.ts); then it runs the control worker or a capability worker until SIGTERM.
 */
import { Command } from 'commander';
import { runProgram, usageOrFailure } from '../shared/node/command-line';
import { loadConfig } from '../shared/node/config';
import { createLogger } from '../shared/node/logger';
import { loadCapabilityModules } from './capability-modules';
import { startWorkerMetrics } from './metrics';
import { runWorkerProcess } from './run-worker-process';
import { DEFAULT_MAX_CONCURRENT, parseWorkerFlags } from './worker-flags';

/** `ados worker`'s command line (unit-tested through the real binary). */
export function buildWorkerProgram(): Command {
  return new Command('ados worker')
    .description('run a worker: --role control (workflows + database activities) or --capabilities a,b')
    .option('--role <role>', 'control | capabilities (default: capabilities)')
    .option('--capabilities <list>', 'comma-separated capabilities to serve, e.g. build,deploy')
    .option(
      '--capability-module <path>',
      'a module of your own capabilities (defineCapability from ados/capability) to serve too; repeatable (also ADOS_CAPABILITY_MODULES)',
      (path: string, earlier: string[] = []) => [...earlier, path],
    )
    .option('--max-concurrent <n>', `activities this process runs at once, per capability (default ${DEFAULT_MAX_CONCURRENT})`)
    .option('--rate-limit <perSecond>', 'task-queue-wide activity rate limit, enforced by Temporal for the whole pool')
    .option('--identity <id>', 'worker identity shown in Temporal (default: role-pid@host)')
    .showHelpAfterError()
    .exitOverride()
    .action(async (flags: Record<string, unknown>) => {
      // Bad flags, bad configuration and capability modules that cannot be served are refused before anything connects.
      const config = loadConfig();
      const { capabilityModules, ...options } = parseWorkerFlags(flags, config.capabilityModules);
      const plugins = loadCapabilityModules(capabilityModules);
      const logger = createLogger(options.role === 'control' ? 'ados-control' : 'ados-capabilities', config.logLevel);
      const metrics = await startWorkerMetrics(config, logger);
      try {
        await runWorkerProcess(config, logger, { ...options, plugins });
      } finally {
        await metrics?.close();
      }
    });
}

/** Runs `ados worker` with these arguments (the ones after `worker`); resolves with the exit code. */
export function runWorker(args: string[]): Promise<number> {
  return runProgram(buildWorkerProgram(), args, usageOrFailure);
}

if (require.main === module) void runWorker(process.argv.slice(2));
