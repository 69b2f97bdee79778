import type { Command } from 'commander';
import { capabilityListFlag } from '../../shared/contract/capability-list';
import { InputValidationError } from '../../shared/contract/validation';
import { emit } from '../output';
import { formatWorkers, listCapabilityWorkers, workersFromClient } from '../workers';
import { withClient } from './context';

/** `--capabilities` checked against the registry before connecting, so that a typo exits 2 even with no server. */
function parseCapabilities(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const parsed = capabilityListFlag.safeParse(text);
  if (parsed.success) return parsed.data;
  throw new InputValidationError('ados workers flags', parsed.error.issues.map((issue) => ({ path: '--capabilities', message: issue.message })));
}

export function registerWorkersCommand(program: Command): void {
  program
    .command('workers')
    .description('per capability: the workers Temporal sees polling its task queue (identity, last poll) and the backlog')
    .option('--capabilities <list>', 'only these capabilities, comma-separated (default: every registered one)')
    .option('--json', 'print JSON')
    .action(async (opts: { capabilities?: string; json?: boolean }) => {
      const capabilities = parseCapabilities(opts.capabilities);
      await withClient(async ({ client, config }) => {
        const report = await listCapabilityWorkers(workersFromClient(client), config, capabilities);
        emit(!!opts.json, report, () => formatWorkers(report));
      });
    });
}
