import { Command, CommanderError } from 'commander';
import { registerApprovalCommands } from './commands/approve';
import { registerExtractionCommands } from './commands/extract';
import { registerPendingCommand } from './commands/pending';
import { registerResolveCommand } from './commands/resolve';
import { registerRunCommands } from './commands/run';
import { registerWorkerCommand } from './commands/worker';
import { registerWorkersCommand } from './commands/workers';
import { EXIT, exitCodeFor } from './exit-codes';

/** The `ados` command line. Exit codes: see client/exit-codes.ts and the README. */
export function buildProgram(): Command {
  const program = new Command('ados')
    .description('ADOS, the Agentic Delivery OS: start, inspect and approve durable delivery runs on Temporal')
    .showHelpAfterError()
    .exitOverride();
  registerRunCommands(program);
  registerApprovalCommands(program);
  registerPendingCommand(program);
  registerResolveCommand(program);
  registerWorkerCommand(program);
  registerWorkersCommand(program);
  registerExtractionCommands(program);
  for (const command of program.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }
  return program;
}

export async function runCli(args: string[]): Promise<number> {
  let code: number = EXIT.ok;
  try {
    await buildProgram().parseAsync(args, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed by commander.
      code = error.exitCode === 0 ? EXIT.ok : EXIT.invalidInput;
    } else {
      code = exitCodeFor(error);
      process.stderr.write(`ados: ${(error as Error).message ?? String(error)}\n`);
    }
  }
  process.exitCode = code;
  return code;
}

if (require.main === module) void runCli(process.argv.slice(2));
