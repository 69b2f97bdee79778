import type { Command } from 'commander';
import { resolutionSchema, RESOLVE_ACTIONS } from '../../shared/contract/delivery/escalation';
import { InputValidationError, issuesFromZod } from '../../shared/contract/validation';
import { resolveTask } from '../delivery';
import { assertRunOfTenant, scopeToRun, TENANT_OPTION_HELP } from '../common/tenant-scope';
import { emit } from '../output';
import { withClient } from './context';

interface ResolveOptions {
  tenant?: string;
  task: string;
  action: string;
  as: string;
  comment?: string;
  environment?: string;
  signal?: boolean;
  json?: boolean;
}

/** Option names for the resolution's fields, so that an error names the flag to fix. */
const FLAG_OF: Record<string, string> = { taskId: '--task', action: '--action', by: '--as', comment: '--comment', environment: '--environment' };

export function registerResolveCommand(program: Command): void {
  program
    .command('resolve')
    .description('resolve a task escalated to a human (the last rung of the escalation ladder): retry it, skip it, or abort the run')
    .argument('<workflowId>')
    .requiredOption('--task <id>', 'the escalated task (ados run status / ados pending show it)')
    .requiredOption('--action <action>', RESOLVE_ACTIONS.join(' | '))
    .requiredOption('--as <user>', 'who resolves (recorded in the audit)')
    .option('--comment <text>', 'why')
    .option('--environment <env>', 'the environment the task waits in (default: the one it waits in)')
    .option('--signal', 'send a signal instead of an update (no immediate answer)')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (workflowId: string, opts: ResolveOptions) => {
      // Refused before connecting, so that a typo is reported (exit 2) even with no server.
      const parsed = resolutionSchema.safeParse({ taskId: opts.task, action: opts.action, by: opts.as, comment: opts.comment, environment: opts.environment });
      if (!parsed.success) {
        throw new InputValidationError(
          'resolution',
          issuesFromZod(parsed.error).map((issue) => ({ ...issue, path: FLAG_OF[issue.path] ?? issue.path })),
        );
      }
      const tenant = scopeToRun(workflowId, opts.tenant);
      await withClient(async ({ client }) => {
        await assertRunOfTenant(client, workflowId, tenant);
        const via = opts.signal ? 'signal' : 'update';
        const outcome = await resolveTask(client, workflowId, parsed.data, via);
        emit(!!opts.json, outcome ?? { sent: true, via }, () =>
          outcome
            ? `resolved task ${outcome.taskId} in ${outcome.environment} of ${workflowId}: ${outcome.action} (as ${outcome.by})`
            : `resolve signal sent to ${workflowId} (the run audits whether it counted: ados run status ${workflowId})`,
        );
      });
    });
}
