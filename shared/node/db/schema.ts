import type { ColumnType, Generated } from 'kysely';

/** Timestamps are written by the database (default now()) and read back as Date. */
type CreatedAt = ColumnType<Date, never, never>;
type Json = ColumnType<unknown, string, string>;

export interface TenantsTable {
  id: string;
  created_at: CreatedAt;
}

export interface RunsTable {
  workflow_id: string;
  tenant_id: string;
  run_id: string;
  kind: string;
  requested_by: string;
  status: string;
  input: Json;
  result: ColumnType<unknown, string | null, string | null>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, never, Date>;
}

export interface TasksTable {
  workflow_id: string;
  environment: string;
  task_id: string;
  capability: string;
  state: string;
  worker: string | null;
  attempt: number | null;
  output: ColumnType<unknown, string | null, string | null>;
  error: string | null;
  updated_at: ColumnType<Date, never, Date>;
}

export interface ApprovalsTable {
  id: Generated<string>;
  workflow_id: string;
  gate: string;
  /** Position of the decision in the gate's sequence: the idempotency key with workflow_id and gate. */
  seq: number;
  approver: string;
  decision: string;
  comment: string | null;
  counted: boolean;
  reason: string | null;
  via: string;
  created_at: CreatedAt;
}

export interface AuditLogTable {
  id: Generated<string>;
  workflow_id: string;
  tenant_id: string;
  /** Deterministic key from the workflow, so that a retried audit activity writes once. */
  event_key: string;
  event: string;
  detail: Json;
  created_at: CreatedAt;
}

export interface ReleasesTable {
  id: Generated<string>;
  tenant_id: string;
  workflow_id: string;
  environment: string;
  artifact: string;
  artifact_sha256: string;
  released_by: string;
  created_at: CreatedAt;
}

export interface Database {
  tenants: TenantsTable;
  runs: RunsTable;
  tasks: TasksTable;
  approvals: ApprovalsTable;
  audit_log: AuditLogTable;
  releases: ReleasesTable;
}
