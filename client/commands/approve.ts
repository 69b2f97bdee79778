import type { Command } from 'commander';
import type { ApprovalDecisionKind } from '../../shared/contract/approval';
import { decide } from '../common/approval';
import { emit } from '../output';
import { withClient } from './context';

interface DecisionOptions {
  as: string;
  comment?: string;
  signal?: boolean;
  json?: boolean;
}

async function sendDecision(kind: ApprovalDecisionKind, workflowId: string, opts: DecisionOptions): Promise<void> {
  await withClient(async ({ client }) => {
    const via = opts.signal ? 'signal' : 'update';
    const snapshot = await decide(client, workflowId, { decision: kind, approver: opts.as, comment: opts.comment }, via);
    emit(!!opts.json, snapshot ?? { sent: true, via }, () =>
      snapshot
        ? `${kind === 'approve' ? 'approved' : 'rejected'} ${workflowId} as ${opts.as}: ${snapshot.approvedBy.length}/${snapshot.policy.quorum} approvals${snapshot.outcome ? `, gate ${snapshot.outcome}` : ''}`
        : `${kind} signal sent to ${workflowId} as ${opts.as} (the run audits whether it counted: ados run status ${workflowId})`,
    );
  });
}

export function registerApprovalCommands(program: Command): void {
  program
    .command('approve')
    .description('approve a run waiting before prod (refused at once if it would not count)')
    .argument('<workflowId>')
    .requiredOption('--as <user>', 'your approver id, as listed in the run\'s approval policy')
    .option('--comment <text>', 'why')
    .option('--signal', 'send a signal instead of an update (no immediate answer)')
    .option('--json', 'print JSON')
    .action((workflowId: string, opts: DecisionOptions) => sendDecision('approve', workflowId, opts));

  program
    .command('reject')
    .description('reject a run waiting before prod; the run ends as rejected')
    .argument('<workflowId>')
    .requiredOption('--as <user>', 'your approver id')
    .requiredOption('--comment <text>', 'why (required)')
    .option('--signal', 'send a signal instead of an update')
    .option('--json', 'print JSON')
    .action((workflowId: string, opts: DecisionOptions) => sendDecision('reject', workflowId, opts));
}
