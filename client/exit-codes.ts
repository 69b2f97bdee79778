import { EXIT, usageOrFailure } from '../shared/node/command-line';
import { DecisionRefusedError, RunNotFoundError } from './common/run-errors';
import { TemporalUnreachableError } from './connection';
import { RunAlreadyExistsError } from './delivery';
import { TenantRefusedError } from '../shared/node/tenancy/admission';
import { TenantNotFoundError } from '../shared/node/tenancy/store';
import { AnomalyNotFoundError } from '../shared/node/anomaly/store';

/** The exit code of the `ados` client CLI for an error (the codes: shared/node/command-line.ts and the README). */
export function exitCodeFor(error: unknown): number {
  if (error instanceof RunAlreadyExistsError) return EXIT.invalidInput;
  if (error instanceof RunNotFoundError || error instanceof TenantNotFoundError || error instanceof AnomalyNotFoundError) return EXIT.notFound;
  if (error instanceof TenantRefusedError) return EXIT.tenantRefused;
  if (error instanceof DecisionRefusedError) return EXIT.refused;
  if (error instanceof TemporalUnreachableError) return EXIT.unreachable;
  return usageOrFailure(error);
}
