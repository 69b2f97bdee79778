import type { Command } from 'commander';
import { loadConfig } from '../../shared/node/config';
import { assertAuditScope, auditTrail, formatAuditTrail } from '../audit';
import { openCliDatabase } from '../common/database';
import { scopedTenant, TENANT_OPTION_HELP } from '../common/tenant-scope';
import { emit } from '../output';

/** `ados audit <workflowId>`: the run's audit trail from `audit_log`, each row linked to its event in the Web UI. */
export function registerAuditCommand(program: Command): void {
  program
    .command('audit')
    .description("print a run's audit trail (append-only audit_log), each entry with its event id and Web UI link")
    .argument('<workflowId>', 'a run (delivery-<tenant>-…, extraction-<tenant>-…) or the tenant\'s own trail (tenant-<tenant>)')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (workflowId: string, opts: { tenant?: string; json?: boolean }) => {
      const tenant = scopedTenant(opts.tenant);
      assertAuditScope(workflowId, tenant);
      const config = loadConfig();
      const database = await openCliDatabase(config, 'ados audit');
      try {
        const rows = await auditTrail(database.db, config, workflowId, tenant);
        emit(!!opts.json, rows, () => formatAuditTrail(workflowId, rows));
      } finally {
        await database.close();
      }
    });
}
