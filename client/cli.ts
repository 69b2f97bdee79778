import { Command, Help } from 'commander';
import { runProgram } from '../shared/node/command-line';
import { registerAnomalyCommands } from './commands/anomaly';
import { registerApprovalCommands } from './commands/approve';
import { registerCapabilitiesCommand } from './commands/capabilities';
import { registerClusterCommands } from './commands/cluster';
import { registerApproverCommands } from './commands/approver';
import { registerAuditCommand } from './commands/audit';
import { registerExtractionCommands } from './commands/extract';
import { registerFreezeCommands } from './commands/freeze';
import { registerGovernanceCommands } from './commands/governance';
import { registerIncidentCommands } from './commands/incident';
import { registerLearnCommands } from './commands/learn';
import { registerMetricsCommands } from './commands/metrics';
import { registerPendingCommand } from './commands/pending';
import { registerReleaseCommands } from './commands/release';
import { registerResolveCommand } from './commands/resolve';
import { registerRunCommands } from './commands/run';
import { registerRuntimeCommands } from './commands/runtime';
import { registerScheduleCommands } from './commands/schedule';
import { registerTenantCommands } from './commands/tenant';
import { registerWorkersCommand } from './commands/workers';
import { exitCodeFor } from './exit-codes';

/**
 * `ados worker` is a program of its own, the worker process (workers/main.ts): the `ados` binary
 * (client/bin/ados.cjs) hands it that command, so client/ never imports workers/. It is listed in `ados --help`
 * all the same.
 */
const WORKER_LISTING = new Command('worker').description(
  'run a worker process: --role control, or --capabilities a,b (its flags: ados worker --help)',
);

/** The `ados` command line. Exit codes: see shared/node/command-line.ts and the README. */
export function buildProgram(): Command {
  const program = new Command('ados')
    .description('ADOS, the Agentic Delivery OS: start, inspect and approve durable delivery runs on Temporal')
    .showHelpAfterError()
    .exitOverride();
  registerRunCommands(program);
  registerApprovalCommands(program);
  registerApproverCommands(program);
  registerAuditCommand(program);
  registerPendingCommand(program);
  registerResolveCommand(program);
  registerWorkersCommand(program);
  registerCapabilitiesCommand(program);
  registerReleaseCommands(program);
  registerExtractionCommands(program);
  registerTenantCommands(program);
  registerRuntimeCommands(program);
  registerScheduleCommands(program);
  registerIncidentCommands(program);
  registerFreezeCommands(program);
  registerGovernanceCommands(program);
  registerLearnCommands(program);
  registerClusterCommands(program);
  registerMetricsCommands(program);
  registerAnomalyCommands(program);
  program.configureHelp({
    visibleCommands(command) {
      const listed = Help.prototype.visibleCommands.call(this, command);
      if (command === program) listed.splice(listed.findIndex((c) => c.name() === 'workers'), 0, WORKER_LISTING);
      return listed;
    },
  });
  for (const command of program.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }
  return program;
}

/** Runs the `ados` client CLI with these arguments; resolves with the exit code (also set as process.exitCode). */
export function runCli(args: string[]): Promise<number> {
  return runProgram(buildProgram(), args, exitCodeFor);
}
