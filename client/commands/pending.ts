import type { Command } from 'commander';
import { listPending } from '../common/pending';
import { tenantOfWorkflowId } from '../../shared/contract/workflow-tenant';
import { scopedTenant, TENANT_OPTION_HELP } from '../common/tenant-scope';
import { emit } from '../output';
import { withClient } from './context';

export function registerPendingCommand(program: Command): void {
  program
    .command('pending')
    .description('list runs awaiting a human: an approval, or a resolution of an escalated task (AdosAwaitingApproval = true)')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (opts: { tenant?: string; json?: boolean }) => {
      const tenant = scopedTenant(opts.tenant);
      await withClient(async ({ client, config }) => {
        // The list query filters on AdosTenant; the workflow ID must name the tenant too.
        const pending = (await listPending(client, config, tenant)).filter((p) => tenantOfWorkflowId(p.workflowId) === tenant);
        emit(!!opts.json, pending, () =>
          pending.length === 0
            ? 'no runs awaiting a human'
            : pending
                .map(
                  (p) =>
                    `${p.workflowId}  tenant=${p.tenantId} kind=${p.kind} since ${p.startTime}${p.escalatedTasks ? `  escalated: ${p.escalatedTasks.join(', ')}` : ''}` +
                    `${p.waitingFor ? `\n  waiting for: ${p.waitingFor}` : ''}\n  ${p.webUrl}`,
                )
                .join('\n'),
        );
      });
    });
}
