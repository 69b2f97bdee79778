import type { Command } from 'commander';
import { listPending } from '../common/pending';
import { emit } from '../output';
import { withClient } from './context';

export function registerPendingCommand(program: Command): void {
  program
    .command('pending')
    .description('list runs awaiting a human: an approval, or a resolution of an escalated task (AdosAwaitingApproval = true)')
    .option('--tenant <id>', 'only this tenant')
    .option('--json', 'print JSON')
    .action(async (opts: { tenant?: string; json?: boolean }) => {
      await withClient(async ({ client, config }) => {
        const pending = await listPending(client, config, opts.tenant);
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
