import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { FREEZE_POLICIES, type ChangeFreeze } from '../../shared/contract/governance/freeze';
import { loadConfig } from '../../shared/node/config';
import type { Db } from '../../shared/node/db';
import { applyFreezesToSchedules, type ScheduleSkipUpdate } from '../../shared/node/governance/schedules';
import { addFreeze, listFreezes, removeFreeze } from '../../shared/node/governance/store';
import { openCliDatabase } from '../common/database';
import { scopedTenant, TENANT_OPTION_HELP } from '../common/tenant-scope';
import { emit } from '../output';
import { withClient } from './context';

async function withDatabase<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const database = await openCliDatabase(loadConfig(), 'ados freeze');
  try {
    return await fn(database.db);
  } finally {
    await database.close();
  }
}

/** Gives the tenant's schedules the skip calendars of its freezes not yet over (after an add or a remove). */
async function syncSchedules(db: Db, tenantId: string): Promise<ScheduleSkipUpdate[]> {
  const freezes = await listFreezes(db, tenantId, { endingAfter: new Date() });
  return withClient(({ client }) => applyFreezesToSchedules(client, tenantId, freezes));
}

function formatFreeze(f: ChangeFreeze): string {
  return `${f.id}  ${f.environment.padEnd(5)} ${f.start} → ${f.end}  ${f.policy.padEnd(6)} ${f.reason} (by ${f.createdBy})`;
}

function formatSchedules(updates: ScheduleSkipUpdate[]): string {
  if (updates.length === 0) return 'schedules: none of this tenant';
  return updates.map((u) => `schedule ${u.scheduleId}: ${u.skipped ? `left alone (${u.skipped})` : `${u.calendars} freeze skip calendar(s)`}`).join('\n');
}

export function registerFreezeCommands(program: Command): void {
  const freeze = program.command('freeze').description('change-freeze windows of a tenant: promotions wait or are refused, remediations blocked, schedules skip');

  freeze
    .command('add')
    .description('add a freeze window (and give the tenant\'s schedules its skip calendars)')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .requiredOption('--env <environment>', 'dev, stage, prod, or "*" for every environment')
    .requiredOption('--start <time>', 'ISO-8601, e.g. 2030-12-24T00:00:00Z')
    .requiredOption('--end <time>', 'ISO-8601, after --start')
    .requiredOption('--reason <text>', 'why, e.g. "year-end freeze"')
    .option('--policy <policy>', `what a delivery run's promotion does: ${FREEZE_POLICIES.join(' or ')}`, 'wait')
    .option('--as <user>', 'who adds it (default: your user name)')
    .option('--json', 'print JSON')
    .action(async (flags: { tenant?: string; env: string; start: string; end: string; reason: string; policy: string; as?: string; json?: boolean }) => {
      const tenantId = scopedTenant(flags.tenant);
      await withDatabase(async (db) => {
        const added = await addFreeze(db, {
          tenantId,
          environment: flags.env as ChangeFreeze['environment'],
          start: flags.start,
          end: flags.end,
          reason: flags.reason,
          policy: flags.policy as ChangeFreeze['policy'],
          createdBy: flags.as ?? userInfo().username,
        });
        const schedules = await syncSchedules(db, tenantId);
        emit(!!flags.json, { ...added, schedules }, () => `${added.created ? 'added' : 'already there'}: ${formatFreeze(added.freeze)}\n${formatSchedules(schedules)}`);
      });
    });

  freeze
    .command('list')
    .description('the tenant\'s freezes not yet over (--all: past ones too)')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--env <environment>', 'only the freezes covering this environment')
    .option('--all', 'include freezes that are over')
    .option('--json', 'print JSON')
    .action(async (flags: { tenant?: string; env?: string; all?: boolean; json?: boolean }) => {
      const tenantId = scopedTenant(flags.tenant);
      const freezes = await withDatabase((db) => listFreezes(db, tenantId, { environment: flags.env, ...(flags.all ? {} : { endingAfter: new Date() }) }));
      emit(!!flags.json, freezes, () => (freezes.length === 0 ? `no freezes for ${tenantId}` : freezes.map(formatFreeze).join('\n')));
    });

  freeze
    .command('remove <id>')
    .description('remove a freeze (kept for the record) and take its skip calendars off the tenant\'s schedules')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (id: string, flags: { tenant?: string; json?: boolean }) => {
      const tenantId = scopedTenant(flags.tenant);
      await withDatabase(async (db) => {
        const removed = await removeFreeze(db, tenantId, id);
        const schedules = await syncSchedules(db, tenantId);
        emit(!!flags.json, { removed, schedules }, () => `removed: ${formatFreeze(removed)}\n${formatSchedules(schedules)}`);
      });
    });
}
