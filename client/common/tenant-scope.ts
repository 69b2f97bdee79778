/**
 * Tenant isolation of the CLI (README, "Isolation"): every command that reads or signals a run is scoped to one
 * tenant (`--tenant`, else ADOS_TENANT) and refuses a workflow of another, checked twice: the tenant its workflow ID
 * names, and the AdosTenant search attribute Temporal holds for it.
 */
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { tenantIdSchema } from '../../shared/contract/tenancy/profile';
import { AdosTenant } from '../../shared/contract/search-attributes';
import { InputValidationError } from '../../shared/contract/validation';
import { tenantOfWorkflowId } from '../../shared/contract/workflow-tenant';
import { loadTenancyConfig } from '../../shared/node/config';
import { TenantRefusedError } from '../../shared/node/tenancy/admission';
import { RunNotFoundError } from './run-errors';

/** The `--tenant` option's help, the same on every scoped command. */
export const TENANT_OPTION_HELP = 'the tenant whose runs this command may read or signal (default: ADOS_TENANT)';

/**
 * The tenant a command is scoped to: `--tenant`, else ADOS_TENANT. Neither is a usage error (exit 2) naming both,
 * raised before anything connects.
 */
export function scopedTenant(flag: string | undefined, env: Record<string, string | undefined> = process.env): string {
  const tenant = flag ?? loadTenancyConfig(env).tenant;
  if (tenant === undefined) {
    throw new InputValidationError('tenant scope', [{ path: '--tenant', message: 'required: give --tenant <id> or set ADOS_TENANT; a command reads and signals the runs of one tenant only' }]);
  }
  const parsed = tenantIdSchema.safeParse(tenant);
  if (!parsed.success) throw new InputValidationError('tenant scope', [{ path: '--tenant', message: `${parsed.error.issues[0].message} (got "${tenant}")` }]);
  return parsed.data;
}

/**
 * Refuses (TenantRefusedError, exit 6) a workflow that is not `tenantId`'s: its ID must name the tenant (checked
 * before connecting to anything) and its AdosTenant search attribute must be the tenant. No such run: exit 3.
 */
export async function assertRunOfTenant(client: Client, workflowId: string, tenantId: string): Promise<void> {
  assertIdOfTenant(workflowId, tenantId);
  let recorded: string | undefined;
  try {
    recorded = (await client.workflow.getHandle(workflowId).describe()).typedSearchAttributes.get(AdosTenant);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new RunNotFoundError(workflowId);
    throw error;
  }
  if (recorded !== tenantId) {
    throw new TenantRefusedError(`run ${workflowId} belongs to ${recorded === undefined ? 'no tenant (it has no AdosTenant search attribute)' : `tenant ${recorded}`}, not to ${tenantId}; refused`);
  }
}

/** The workflow-ID half of assertRunOfTenant, which needs no server. */
export function assertIdOfTenant(workflowId: string, tenantId: string): void {
  const named = tenantOfWorkflowId(workflowId);
  if (named !== tenantId) {
    throw new TenantRefusedError(
      named === undefined
        ? `${workflowId} is not the workflow ID of a run of tenant ${tenantId} (delivery-${tenantId}-<run>, extraction-${tenantId}-<set>-<hash8>); refused`
        : `run ${workflowId} belongs to tenant ${named}, not to ${tenantId} (--tenant / ADOS_TENANT); refused`,
    );
  }
}

/** The tenant of a command on one run: scopedTenant, then the workflow-ID check, both before connecting. */
export function scopeToRun(workflowId: string, flag: string | undefined): string {
  const tenant = scopedTenant(flag);
  assertIdOfTenant(workflowId, tenant);
  return tenant;
}
