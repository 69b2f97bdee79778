import type { Command } from 'commander';
import { InputValidationError } from '../../shared/contract/validation';
import { loadConfig } from '../../shared/node/config';
import { emit } from '../output';
import { formatReleases, listReleases, rollbackRelease, type ReleaseTarget } from '../release';

interface TargetFlags {
  tenant?: string;
  environment?: string;
  service?: string;
  json?: boolean;
}

/** --tenant and --environment are required; checked here so the message names both at once. */
function target(flags: TargetFlags, command: string): ReleaseTarget {
  const missing = (['tenant', 'environment'] as const).filter((flag) => !flags[flag]);
  if (missing.length > 0) {
    throw new InputValidationError(`ados release ${command} flags`, missing.map((flag) => ({ path: `--${flag}`, message: `required, e.g. --${flag} ${flag === 'tenant' ? 'acme' : 'dev'}` })));
  }
  return { tenant: flags.tenant as string, environment: flags.environment as string, ...(flags.service ? { service: flags.service } : {}) };
}

export function registerReleaseCommands(program: Command): void {
  const release = program.command('release').description('releases deployed by deploy.process on this machine: list them, roll back');
  const withTarget = (command: Command) =>
    command
      .option('--tenant <tenant>', 'the tenant (required)')
      .option('--environment <env>', 'the environment, e.g. dev (required)')
      .option('--service <name>', 'one service (default: every service of the environment)')
      .option('--json', 'print JSON');

  withTarget(release.command('list').description('what each service of the environment serves, and its releases (newest first)')).action((flags: TargetFlags) => {
    const where = target(flags, 'list');
    const environments = listReleases(loadConfig(), where);
    emit(!!flags.json, environments, () => formatReleases(environments, where));
  });

  withTarget(release.command('rollback').description('switch a service back to the release that served before (blue/green), or to --to <hash>'))
    .option('--to <hash>', 'the release to switch to (a prefix of its hash, as `release list` shows)')
    .option('--as <user>', 'who rolls back (recorded in the history)', 'cli')
    .action(async (flags: TargetFlags & { to?: string; as: string }) => {
      const where = target(flags, 'rollback');
      const result = await rollbackRelease(loadConfig(), { ...where, to: flags.to, by: `cli:${flags.as}` });
      emit(!!flags.json, result, () => `${where.tenant}/${result.service}/${where.environment}: now serving ${result.release.slice(0, 12)} (was ${result.previous?.slice(0, 12) ?? 'nothing'}) on ${result.url}`);
    });
}
