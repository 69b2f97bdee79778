import type { ColumnType, Generated } from 'kysely';

/** Timestamps are written by the database (default now()) and read back as Date. */
type CreatedAt = ColumnType<Date, never, never>;
type Json = ColumnType<unknown, string, string>;

/** A tenant and its profile (0001, extended by 0006_tenants); every column but id has a default. */
export interface TenantsTable {
  id: string;
  created_at: CreatedAt;
  display_name: ColumnType<string | null, string | null | undefined, string | null>;
  active: ColumnType<boolean, boolean | undefined, boolean>;
  /** null: no limit. */
  budget_per_day: ColumnType<number | null, number | null | undefined, number | null>;
  budget_per_month: ColumnType<number | null, number | null | undefined, number | null>;
  budget_unit: ColumnType<string, string | undefined, string>;
  max_concurrent_runs: ColumnType<number, number | undefined, number>;
  max_concurrent_tasks_per_agent: ColumnType<number, number | undefined, number>;
  priority: ColumnType<number, number | undefined, number>;
  fairness_weight: ColumnType<number, number | undefined, number>;
  /** The tenant gate's token buckets (migration 0007_tenant_rates). */
  run_starts_per_minute: ColumnType<number, number | undefined, number>;
  run_start_burst: ColumnType<number, number | undefined, number>;
  agent_task_starts_per_minute: ColumnType<number, number | undefined, number>;
  agent_task_start_burst: ColumnType<number, number | undefined, number>;
  planner_policy: ColumnType<unknown, string | undefined, string>;
  tool_policy: ColumnType<unknown, string | undefined, string>;
  agent_policy: ColumnType<unknown, string | undefined, string>;
  generation_policy: ColumnType<unknown, string | undefined, string>;
  meta_learning: ColumnType<boolean, boolean | undefined, boolean>;
  /** The profile's `approvals` section (migration 0009): role membership and the prod gate's policy. */
  approvals: ColumnType<unknown, string | undefined, string>;
  /** The profile's `notifications` section (migration 0018): the webhook known anomalies are POSTed to. */
  notifications: ColumnType<unknown, string | undefined, string>;
  /** Changes so far: the key of each change's audit entry (`v<version>:<event>`). */
  version: ColumnType<number, number | undefined, number>;
  updated_at: ColumnType<Date, never, Date>;
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
  /** The Temporal run and the WorkflowTaskStarted event of the workflow task that wrote the entry (migration 0009). */
  workflow_run_id: ColumnType<string | null, string | null | undefined, never>;
  history_event_id: ColumnType<string | null, number | null | undefined, never>;
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

/** Schema extraction (migration 0002_extraction): every schema version seen, per tenant. */
export interface SchemasTable {
  id: Generated<string>;
  tenant_id: string;
  name: string;
  /** Version after migration (the current format). */
  version: string;
  original_version: string;
  /** sha256 of the canonical migrated document. */
  sha256: string;
  document: Json;
  file: string;
  first_workflow_id: string;
  created_at: CreatedAt;
}

/** Every schema migration applied before an extraction (idempotent on workflow, agent, seq). */
export interface SchemaMigrationsAppliedTable {
  id: Generated<string>;
  workflow_id: string;
  tenant_id: string;
  agent: string;
  file: string;
  seq: number;
  migration_id: string;
  from_version: string;
  to_version: string;
  breaking: boolean;
  changes: Json;
  warnings: Json;
  created_at: CreatedAt;
}

/** Generated artifact contents, addressed by their sha256. */
export interface ExtractionArtifactsTable {
  sha256: string;
  content: string;
  bytes: number;
  created_at: CreatedAt;
}

/** The extraction cache: one row per (tenant, cache key), with the key parts stored separately for `--plan`. */
export interface SchemaCacheTable {
  id: Generated<string>;
  tenant_id: string;
  agent: string;
  cache_key: string;
  schema_sha256: string;
  extractor_version: string;
  glue_version: string;
  /** Output hash of each dependency, by agent name. */
  dependencies: Json;
  output_sha256: string;
  /** ArtifactRef[]: path, kind, sha256, bytes. */
  artifacts: Json;
  created_by: string;
  created_at: CreatedAt;
}

/** Per run and agent: the outcome (cached, done, failed, skipped), timings and the worker. */
export interface ExtractionNodesTable {
  workflow_id: string;
  agent: string;
  state: string;
  cache_key: string | null;
  output_sha256: string | null;
  reason: string | null;
  error: string | null;
  worker: string | null;
  started_at: Date | null;
  finished_at: Date | null;
  duration_ms: number | null;
}

/** The recorded manifest of each agent (latest row wins), the baseline `ados schema drift` compares with. */
export interface ManifestsTable {
  id: Generated<string>;
  tenant_id: string;
  agent: string;
  /** Relative path, `<agent-slug>/manifest.yaml`. */
  path: string;
  sha256: string;
  /** `extracted` by a run, or `accepted` from a deployed dir by `ados schema drift --accept`. */
  source: string;
  /** The workflow ID, or `accept:<user>:<time>`. */
  recorded_by: string;
  created_at: CreatedAt;
}

/** Checkpointing and fencing (migration 0003_effects): the latest attempt of a task, the fencing token. */
export interface TaskFencesTable {
  workflow_id: string;
  environment: string;
  task_id: string;
  /** The workflow's activity sequence number: a task scheduled again gets a higher one. bigint: read as a string. */
  generation: ColumnType<string, number | string, number | string>;
  attempt: number;
  worker: string;
  updated_at: ColumnType<Date, never, never>;
}

/** One side effect per (workflow, environment, task, item), written by the attempt that held the fence. */
export interface EffectsTable {
  id: Generated<string>;
  workflow_id: string;
  environment: string;
  task_id: string;
  item: number;
  digest: string;
  generation: ColumnType<string, number | string, number | string>;
  attempt: number;
  worker: string;
  created_at: CreatedAt;
}

/** The durable checkpoint of a task (the value its attempts heartbeat), only moving forward. */
export interface CheckpointsTable {
  workflow_id: string;
  environment: string;
  task_id: string;
  cursor: number;
  details: Json;
  generation: ColumnType<string, number | string, number | string>;
  attempt: number;
  worker: string;
  updated_at: ColumnType<Date, never, never>;
}

/** One row per attempt of a checkpointed task: where it resumed, what it wrote, redid and had refused. */
export interface TaskAttemptsTable {
  workflow_id: string;
  environment: string;
  task_id: string;
  generation: ColumnType<string, number | string, number | string>;
  attempt: number;
  worker: string;
  started_at: ColumnType<Date, never, never>;
  resumed_from: number;
  /** `start`, `heartbeat` (Temporal's heartbeat details) or `checkpoint` (the durable row). */
  resume_source: string;
  cursor: number;
  last_checkpoint_at: ColumnType<Date | null, never, Date | null>;
  written: ColumnType<number, number | undefined, number>;
  redone: ColumnType<number, number | undefined, number>;
  refused: ColumnType<number, number | undefined, number>;
  finished_at: ColumnType<Date | null, never, Date | null>;
  /** `completed`, `fenced`, `cancelled`, `failed`; null while running (or when its worker died). */
  outcome: string | null;
  error: string | null;
}

/** Every write the fence refused. */
export interface FencedWritesTable {
  id: Generated<string>;
  workflow_id: string;
  environment: string;
  task_id: string;
  generation: ColumnType<string, number | string, number | string>;
  attempt: number;
  worker: string;
  fence_generation: ColumnType<string | null, number | string | null, number | string | null>;
  fence_attempt: number | null;
  fence_worker: string | null;
  /** `claim`, `effects` or `checkpoint`. */
  write_kind: string;
  items: number;
  first_item: number | null;
  created_at: CreatedAt;
}

/** What a worker serves (migration 0004_capabilities): one row per capability and worker, refreshed while it runs. */
export interface CapabilityRegistrationsTable {
  capability: string;
  worker: string;
  version: string;
  task_queue: string;
  /** `built-in`, or the module a worker loaded it from (`--capability-module`). */
  source: string;
  /** The routing spec (shared/contract/capabilities.ts CapabilitySpec). */
  spec: Json;
  input_schema: Json;
  output_schema: Json;
  registered_at: ColumnType<Date, never, never>;
  last_seen_at: ColumnType<Date, Date | undefined, Date>;
}

/** One cost report of an attempt (`ctx.reportCost`), unique per attempt and report. */
export interface TaskCostsTable {
  id: Generated<string>;
  workflow_id: string;
  tenant_id: string;
  environment: string;
  task_id: string;
  capability: string;
  attempt: number;
  seq: number;
  amount: number;
  unit: string;
  created_at: CreatedAt;
}

/** An approver's Ed25519 public key in a tenant (migration 0005_approver_keys); revoked keys stay, marked. */
export interface ApproverKeysTable {
  tenant_id: string;
  approver: string;
  /** First 16 hex digits of the sha256 of the raw public key. */
  key_id: string;
  /** Raw 32-byte public key, base64. */
  public_key: string;
  added_at: ColumnType<Date, never, never>;
  revoked_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

/** An action carried out on a target (migration 0008_governance), for cooldowns and repetition across runs. */
export interface GovernanceActionsTable {
  id: Generated<string>;
  tenant_id: string;
  service: string;
  environment: string;
  action: string;
  workflow_id: string;
  /** Unique with workflow_id: a retried activity records the action once. */
  action_key: string;
  /** `succeeded` or `failed`: both were carried out, both count. */
  outcome: string;
  detail: Json;
  /** When it was carried out, by the recording activity's clock. */
  at: Date;
}

/** A change-freeze window of a tenant's environment (`*`: all); removed freezes stay, marked. */
export interface ChangeFreezesTable {
  id: string;
  tenant_id: string;
  environment: string;
  starts_at: Date;
  ends_at: Date;
  reason: string;
  policy: string;
  created_by: string;
  created_at: CreatedAt;
  removed_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

/** A tenant's overrides of the default governance rules (shared/contract/governance/policy.ts). */
export interface GovernancePoliciesTable {
  tenant_id: string;
  overrides: Json;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

/** A task runtime's task (migration 0010_task_runtimes): how many work items it has, which numbers the next ones. */
export interface TaskRuntimeTasksTable {
  tenant_id: string;
  task_id: string;
  item_count: ColumnType<number, number | undefined, number>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, never, Date>;
}

/** One work item of a task: numbered 1 … N in load order (seq), unique by its key. */
export interface TaskRuntimeItemsTable {
  tenant_id: string;
  task_id: string;
  seq: number;
  item_key: string;
  payload: Json;
  loaded_at: CreatedAt;
}

/** A task runtime's checkpoint, upserted per task and chain index: its plain-JSON state and its input. */
export interface TaskRuntimeCheckpointsTable {
  tenant_id: string;
  task_id: string;
  chain_index: number;
  workflow_id: string;
  run_id: string;
  reason: string;
  state: Json;
  input: Json;
  updated_at: ColumnType<Date, never, Date>;
}

/** An item a failing batch left unprocessed after its retries (the `dead-letter` policy). */
export interface TaskRuntimeDeadLettersTable {
  tenant_id: string;
  task_id: string;
  seq: number;
  item_key: string;
  block: number;
  workflow_id: string;
  attempts: number;
  error: string;
  created_at: CreatedAt;
}

/** A metric's sample (migration 0012_anomaly_monitor): one value per tenant, metric and timestamp. */
export interface MetricSamplesTable {
  tenant_id: string;
  metric: string;
  ts: Date;
  value: number;
}

/** An anomaly monitor's checkpoint: the detectors' state and the last sample it scored. */
export interface AnomalyMonitorCheckpointsTable {
  tenant_id: string;
  metric: string;
  workflow_id: string;
  detector_state: Json;
  last_ts: Date | null;
  /** bigint: read back as a string. */
  samples_scored: ColumnType<string, number | undefined, number>;
  updated_at: ColumnType<Date, never, Date>;
}

/** A detected anomaly, then its classification. */
export interface AnomaliesTable {
  id: string;
  tenant_id: string;
  metric: string;
  start_ts: Date;
  end_ts: Date;
  peak_ts: Date;
  peak_score: number;
  detectors: Json;
  samples: number;
  signature: string;
  threshold: number;
  class: string | null;
  status: ColumnType<string, string | undefined, string>;
  action: string | null;
  reason: string | null;
  child_workflow_id: string | null;
  monitor_workflow_id: string;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, never, Date>;
}

/** A signature recorded as known for a metric. */
export interface AnomalySignaturesTable {
  tenant_id: string;
  metric: string;
  signature: string;
  note: string;
  recorded_by: string;
  created_at: CreatedAt;
}

/** A metric's ensemble threshold as moved by feedback. */
export interface AnomalyThresholdsTable {
  tenant_id: string;
  metric: string;
  threshold: number;
  updated_at: ColumnType<Date, never, Date>;
}

/** An operator's verdict on an anomaly, once per verdict. */
export interface AnomalyFeedbackTable {
  anomaly_id: string;
  verdict: string;
  tenant_id: string;
  metric: string;
  given_by: string;
  note: string | null;
  threshold_before: number;
  threshold_after: number;
  created_at: CreatedAt;
}

/** What an investigator found about a novel anomaly. */
export interface AnomalyFindingsTable {
  anomaly_id: string;
  tenant_id: string;
  metric: string;
  workflow_id: string;
  finding: Json;
  created_at: CreatedAt;
}

/** A transfer-learning domain (migration 0014_transfer_learning): its features and its fixed split's seed. */
export interface LearningDomainsTable {
  name: string;
  feature_names: Json;
  origin: Json;
  split_seed: number;
  holdout_fraction: number;
  row_count: number;
  created_at: CreatedAt;
}

/** One example of a domain: features in the domain's order, a 0/1 label, and its side of the split. */
export interface LearningDomainRowsTable {
  domain: string;
  row_index: number;
  features: Json;
  label: number;
  split: 'train' | 'holdout';
}

/** A model version of a domain in the registry; at most one live per domain. */
export interface LearningModelsTable {
  domain: string;
  version: number;
  origin: 'independent' | 'transfer';
  model: Json;
  metrics: Json;
  live: ColumnType<boolean, boolean | undefined, boolean>;
  parents: Json;
  write_key: string;
  created_at: CreatedAt;
}

/** A transfer's figures and decision, once per (scheduled time, source, target, pattern, method). */
export interface LearningTransfersTable {
  scheduled_at: Date;
  source: string;
  target: string;
  pattern: string;
  method: string;
  workflow_id: string;
  decision: 'promote' | 'keep' | 'revert';
  negative: boolean;
  improvement: number;
  figures: Json;
  target_version: number | null;
  live_version: number;
  created_at: CreatedAt;
}

/** A tenant's strategy settings (migration 0013_strategy_learning). */
export interface StrategySettingsTable {
  tenant_id: string;
  arms: Json;
  alpha: number;
  epsilon: number;
  updated_at: ColumnType<Date, never, Date>;
}

/** One arm's LinUCB statistics in one tenant, for one context layout; `version` counts the rewards applied. */
export interface StrategyArmStateTable {
  tenant_id: string;
  context_version: number;
  arm: string;
  a: Json;
  a_inverse: Json;
  b: Json;
  pulls: number;
  reward_sum: number;
  version: number;
  updated_at: ColumnType<Date, never, Date>;
}

/** The strategy a delivery run was given, why, and (once applied, exactly once) its reward. */
export interface StrategyDecisionsTable {
  workflow_id: string;
  tenant_id: string;
  arm: string;
  /** `linucb`, or `cql-v<version>` while a promoted model chooses. */
  policy: string;
  arms: Json;
  strategy: Json;
  context_version: number;
  context: Json;
  state: Json;
  goal: Json;
  scores: Json;
  propensity: number;
  state_version: number;
  shadow: ColumnType<unknown, string | null | undefined, string | null>;
  reward: ColumnType<number | null, number | null | undefined, number | null>;
  reward_detail: ColumnType<unknown, string | null | undefined, string | null>;
  created_at: CreatedAt;
  rewarded_at: ColumnType<Date | null, never, Date | null>;
  /** `<goal type>/<budget band>` the reward was added to in the meta tables (migration 0017); null: not contributed. */
  meta_pattern: ColumnType<string | null, string | null | undefined, string | null>;
}

/** A promoted model's promotion: its workflow, the rollback threshold, and how its watch ended. */
export interface StrategyPromotionsTable {
  tenant_id: string;
  model_version: number;
  workflow_id: string;
  baseline: number;
  status: string;
  watched: ColumnType<unknown, string | null | undefined, string | null>;
  promoted_at: CreatedAt;
  closed_at: ColumnType<Date | null, never, Date | null>;
}

/** A conservative Q-learning model of a tenant, by version (`shadow`: recorded beside live decisions only). */
export interface StrategyOfflineModelsTable {
  tenant_id: string;
  version: number;
  status: string;
  weights: Json;
  runs: number;
  trained_at: CreatedAt;
  /** The training request that produced it (migration 0017); unique. */
  training_key: ColumnType<string | null, string | null | undefined, string | null>;
}

/** Meta-policy aggregate of one pattern (migration 0017): no tenant id by design. */
export interface StrategyMetaPatternsTable {
  goal_type: string;
  budget_band: string;
  context_version: number;
  tenants: number;
  runs: number;
}

/** Meta-policy aggregate of one arm in one pattern (migration 0017). */
export interface StrategyMetaArmsTable {
  goal_type: string;
  budget_band: string;
  context_version: number;
  arm: string;
  runs: number;
  reward_sum: number;
  reward_square_sum: number;
}

/** The meta-policy's thresholds, one row (migration 0017). */
export interface StrategyMetaSettingsTable {
  singleton: ColumnType<boolean, boolean | undefined, never>;
  min_tenants: number;
  min_runs: number;
  max_prior_runs: number;
}

/** A warm start a tenant got for a pattern (migration 0017). */
export interface StrategyWarmStartsTable {
  tenant_id: string;
  context_version: number;
  goal_type: string;
  budget_band: string;
  prior: Json;
  applied_at: CreatedAt;
}

/** A generated anomaly handler deployed by a pipeline to one environment (migration 0016_anomaly_handlers). */
export interface AnomalyHandlersTable {
  workflow_id: string;
  environment: string;
  tenant_id: string;
  metric: string;
  handler: string;
  service: string;
  release: string;
  url: string;
  port: number;
  pid: number;
  /** `serving`, or `removed` once its process was stopped and checked gone. */
  status: string;
  alert_samples: number | null;
  alerts: number | null;
  alert_rate: number | null;
  deployed_at: CreatedAt;
  updated_at: ColumnType<Date, never, Date>;
}

/**
 * A notification of a known anomaly (migration 0018_anomaly_notifications): once per anomaly and channel, written
 * with its classification, then delivered (retried until it is).
 */
export interface AnomalyNotificationsTable {
  id: Generated<string>;
  tenant_id: string;
  anomaly_id: string;
  metric: string;
  /** `log` (the control worker's warn line) or `webhook` (a POST to `target`). */
  channel: string;
  /** The webhook's URL; null for the log channel. */
  target: string | null;
  /** What is sent (shared/contract/anomaly/notification.ts AnomalyNotification). */
  payload: Json;
  /** `pending`, `delivered`, or `failed` (the last attempt did not get through; a retry delivers it). */
  status: ColumnType<string, string | undefined, string>;
  attempts: ColumnType<number, number | undefined, number>;
  last_error: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: CreatedAt;
  delivered_at: ColumnType<Date | null, never, Date | null>;
}

export interface Database {
  tenants: TenantsTable;
  runs: RunsTable;
  tasks: TasksTable;
  approvals: ApprovalsTable;
  audit_log: AuditLogTable;
  releases: ReleasesTable;
  schemas: SchemasTable;
  schema_migrations_applied: SchemaMigrationsAppliedTable;
  extraction_artifacts: ExtractionArtifactsTable;
  schema_cache: SchemaCacheTable;
  extraction_nodes: ExtractionNodesTable;
  manifests: ManifestsTable;
  task_fences: TaskFencesTable;
  effects: EffectsTable;
  checkpoints: CheckpointsTable;
  task_attempts: TaskAttemptsTable;
  fenced_writes: FencedWritesTable;
  capability_registrations: CapabilityRegistrationsTable;
  task_costs: TaskCostsTable;
  approver_keys: ApproverKeysTable;
  task_runtime_tasks: TaskRuntimeTasksTable;
  task_runtime_items: TaskRuntimeItemsTable;
  task_runtime_checkpoints: TaskRuntimeCheckpointsTable;
  task_runtime_dead_letters: TaskRuntimeDeadLettersTable;
  governance_actions: GovernanceActionsTable;
  change_freezes: ChangeFreezesTable;
  governance_policies: GovernancePoliciesTable;
  metric_samples: MetricSamplesTable;
  anomaly_monitor_checkpoints: AnomalyMonitorCheckpointsTable;
  anomalies: AnomaliesTable;
  anomaly_signatures: AnomalySignaturesTable;
  anomaly_thresholds: AnomalyThresholdsTable;
  anomaly_feedback: AnomalyFeedbackTable;
  anomaly_findings: AnomalyFindingsTable;
  learning_domains: LearningDomainsTable;
  learning_domain_rows: LearningDomainRowsTable;
  learning_models: LearningModelsTable;
  learning_transfers: LearningTransfersTable;
  strategy_settings: StrategySettingsTable;
  strategy_arm_state: StrategyArmStateTable;
  strategy_decisions: StrategyDecisionsTable;
  strategy_offline_models: StrategyOfflineModelsTable;
  strategy_promotions: StrategyPromotionsTable;
  strategy_meta_patterns: StrategyMetaPatternsTable;
  strategy_meta_arms: StrategyMetaArmsTable;
  strategy_meta_settings: StrategyMetaSettingsTable;
  strategy_warm_starts: StrategyWarmStartsTable;
  anomaly_handlers: AnomalyHandlersTable;
  anomaly_notifications: AnomalyNotificationsTable;
}
