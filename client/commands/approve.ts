import type { Command } from 'commander';
import type { ApprovalDecisionKind } from '../../shared/contract/approval';
import { decide, signedDecision, type SigningChoice } from '../common/approval';
import { assertRunOfTenant, scopeToRun, TENANT_OPTION_HELP } from '../common/tenant-scope';
import { emit } from '../output';
import { withClient } from './context';

interface DecisionOptions {
  as: string;
  tenant?: string;
  comment?: string;
  signal?: boolean;
  json?: boolean;
  keyFile?: string;
  unsigned?: boolean;
}

function signingChoice(opts: DecisionOptions): SigningChoice {
  if (opts.unsigned) return 'unsigned';
  return { keyFile: opts.keyFile ?? 'default' };
}

async function sendDecision(kind: ApprovalDecisionKind, workflowId: string, opts: DecisionOptions): Promise<void> {
  const tenant = scopeToRun(workflowId, opts.tenant);
  await withClient(async ({ client }) => {
    await assertRunOfTenant(client, workflowId, tenant);
    const via = opts.signal ? 'signal' : 'update';
    const decision = await signedDecision(client, workflowId, { decision: kind, approver: opts.as, comment: opts.comment }, signingChoice(opts));
    const snapshot = await decide(client, workflowId, decision, via);
    emit(!!opts.json, snapshot ?? { sent: true, via }, () =>
      snapshot
        ? `${kind === 'approve' ? 'approved' : 'rejected'} ${workflowId} as ${opts.as}${decision.signature ? ` (signed with key ${decision.signature.keyId})` : ' (unsigned)'}: ${snapshot.approvedBy.length}/${snapshot.policy.quorum} approvals${snapshot.outcome ? `, gate ${snapshot.outcome}` : ''}`
        : `${kind} signal sent to ${workflowId} as ${opts.as} (the run audits whether it counted: ados run status ${workflowId})`,
    );
  });
}

/** One decision command: `ados approve|reject <workflowId>`, `ados anomaly approve|reject <id>`. */
export interface DecisionCommand {
  kind: ApprovalDecisionKind;
  description: string;
  argument: string;
  argumentDescription?: string;
  /** Refuses an argument that cannot name a run this command decides on, before any call; returns the workflow ID. */
  check?: (argument: string) => string;
}

/** Adds a decision command: --as, --comment (required to reject), signing, --signal, --tenant and --json. */
export function addDecisionCommand(parent: Command, spec: DecisionCommand): Command {
  const approving = spec.kind === 'approve';
  const command = parent
    .command(spec.kind)
    .description(spec.description)
    .argument(spec.argument, spec.argumentDescription)
    .requiredOption('--as <user>', approving ? 'your approver id, as listed in the run\'s approval policy' : 'your approver id');
  if (approving) command.option('--comment <text>', 'why');
  else command.requiredOption('--comment <text>', 'why (required)');
  return command
    .option('--signal', approving ? 'send a signal instead of an update (no immediate answer)' : 'send a signal instead of an update')
    .option('--key-file <file>', 'your Ed25519 private key (default ~/.config/ados/keys/<tenant>/<you>.pem, used when it exists)')
    .option('--unsigned', 'send the decision without a signature')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--json', 'print JSON')
    .action((argument: string, opts: DecisionOptions) => sendDecision(spec.kind, spec.check ? spec.check(argument) : argument, opts));
}

export function registerApprovalCommands(program: Command): void {
  addDecisionCommand(program, { kind: 'approve', description: 'approve a run waiting before prod (refused at once if it would not count)', argument: '<workflowId>' });
  addDecisionCommand(program, { kind: 'reject', description: 'reject a run waiting before prod; the run ends as rejected', argument: '<workflowId>' });
}
