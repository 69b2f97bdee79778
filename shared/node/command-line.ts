/**
 * What every ADOS program on the command line shares (the `ados` client CLI, the `ados worker` process): the exit
 * codes scripts rely on (also listed in the README) and how a commander program is run with them.
 */
import { type Command, CommanderError } from 'commander';
import { InputValidationError } from '../contract/validation';
import { ConfigError } from './config';

export const EXIT = {
  ok: 0,
  failure: 1,
  invalidInput: 2,
  notFound: 3,
  refused: 4,
  unreachable: 5,
  /** A tenant's rules refuse it: admission (deactivated, over budget, unknown with ADOS_REQUIRE_TENANTS=1) or another tenant's run. */
  tenantRefused: 6,
} as const;

/** Bad input or configuration is a usage error (2); anything a program does not know better is a failure (1). */
export function usageOrFailure(error: unknown): number {
  return error instanceof InputValidationError || error instanceof ConfigError ? EXIT.invalidInput : EXIT.failure;
}

/**
 * Runs `program` on `args` and sets process.exitCode: 0 after help, 2 after a usage error (commander has printed
 * it), otherwise `exitCodeFor(error)` with `ados: <message>` on stderr. The program and its commands must use
 * commander's exitOverride, so that nothing exits before the code is chosen.
 */
export async function runProgram(program: Command, args: string[], exitCodeFor: (error: unknown) => number): Promise<number> {
  let code: number = EXIT.ok;
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      code = error.exitCode === 0 ? EXIT.ok : EXIT.invalidInput;
    } else {
      code = exitCodeFor(error);
      process.stderr.write(`ados: ${(error as Error)?.message ?? String(error)}\n`);
    }
  }
  process.exitCode = code;
  return code;
}
