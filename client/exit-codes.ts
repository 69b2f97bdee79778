import { EXIT, usageOrFailure } from '../shared/node/command-line';
import { DecisionRefusedError, RunNotFoundError } from './common/run-errors';
import { TemporalUnreachableError } from './connection';
import { RunAlreadyExistsError } from './delivery';

/** The exit code of the `ados` client CLI for an error (the codes: shared/node/command-line.ts and the README). */
export function exitCodeFor(error: unknown): number {
  if (error instanceof RunAlreadyExistsError) return EXIT.invalidInput;
  if (error instanceof RunNotFoundError) return EXIT.notFound;
  if (error instanceof DecisionRefusedError) return EXIT.refused;
  if (error instanceof TemporalUnreachableError) return EXIT.unreachable;
  return usageOrFailure(error);
}
