import type { Command } from 'commander';
import { emit } from '../output';
import { formatWorkers, listCapabilityWorkers, workersFromClient } from '../workers';
import { withClient } from './context';

export function registerWorkersCommand(program: Command): void {
  program
    .command('workers')
    .description('per capability: the workers Temporal sees polling its task queue (identity, last poll) and the backlog')
    .option('--capabilities <list>', 'only these capabilities, comma-separated (default: every registered one)')
    .option('--json', 'print JSON')
    .action(async (opts: { capabilities?: string; json?: boolean }) => {
      const capabilities = opts.capabilities?.split(',').map((c) => c.trim()).filter(Boolean);
      await withClient(async ({ client, config }) => {
        const report = await listCapabilityWorkers(workersFromClient(client), config, capabilities);
        emit(!!opts.json, report, () => formatWorkers(report));
      });
    });
}
