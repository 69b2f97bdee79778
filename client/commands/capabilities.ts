import type { Command } from 'commander';
import { loadConfig } from '../../shared/node/config';
import { formatCapabilities, listCapabilities } from '../capabilities';
import { emit } from '../output';

export function registerCapabilitiesCommand(program: Command): void {
  program
    .command('capabilities')
    .description('the built-in and registered (plugin) capabilities, with the workers that serve each (needs DATABASE_URL for registrations)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const report = await listCapabilities(loadConfig());
      emit(!!opts.json, report, () => formatCapabilities(report));
    });
}
