import { type Kysely, sql } from 'kysely';

/**
 * Transfer-learning cycles (README, "Transfer-learning cycles").
 *
 * - `learning_domains`: a named dataset, its feature names, where its rows came from, and the seed and holdout
 *   fraction of its fixed train/holdout split.
 * - `learning_domain_rows`: the dataset, one row per example (features in the domain's feature order, a 0/1 label,
 *   `train` or `holdout`), primary key (domain, row_index), so building a domain twice adds nothing.
 * - `learning_models`: the model registry, versions 1 … N per domain; at most one live version per domain (a partial
 *   unique index); `parents` the versions a transferred model came from; `write_key` unique, so a retried activity
 *   registers a version once.
 * - `learning_transfers`: one row per (scheduled time, source, target, pattern, method): the figures and decision of
 *   that pair in that cycle, so a retried or backfilled cycle for the same time writes nothing twice.
 * Each decision is also in `audit_log`, with its figures.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const now = (c: any) => c.notNull().defaultTo(sql`clock_timestamp()`);
  await db.schema
    .createTable('learning_domains')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('feature_names', 'jsonb', (c) => c.notNull())
    .addColumn('origin', 'jsonb', (c) => c.notNull())
    .addColumn('split_seed', 'integer', (c) => c.notNull())
    .addColumn('holdout_fraction', 'double precision', (c) => c.notNull())
    .addColumn('row_count', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', now)
    .execute();
  await db.schema
    .createTable('learning_domain_rows')
    .addColumn('domain', 'text', (c) => c.notNull().references('learning_domains.name'))
    .addColumn('row_index', 'integer', (c) => c.notNull())
    .addColumn('features', 'jsonb', (c) => c.notNull())
    .addColumn('label', 'smallint', (c) => c.notNull())
    .addColumn('split', 'text', (c) => c.notNull().check(sql`split in ('train', 'holdout')`))
    .addPrimaryKeyConstraint('learning_domain_rows_pk', ['domain', 'row_index'])
    .execute();
  await db.schema
    .createTable('learning_models')
    .addColumn('domain', 'text', (c) => c.notNull().references('learning_domains.name'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('origin', 'text', (c) => c.notNull().check(sql`origin in ('independent', 'transfer')`))
    .addColumn('model', 'jsonb', (c) => c.notNull())
    .addColumn('metrics', 'jsonb', (c) => c.notNull())
    .addColumn('live', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('parents', 'jsonb', (c) => c.notNull())
    .addColumn('write_key', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'timestamptz', now)
    .addPrimaryKeyConstraint('learning_models_pk', ['domain', 'version'])
    .execute();
  await sql`CREATE UNIQUE INDEX learning_models_one_live ON learning_models (domain) WHERE live`.execute(db);
  await db.schema
    .createTable('learning_transfers')
    .addColumn('scheduled_at', 'timestamptz', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('pattern', 'text', (c) => c.notNull())
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('workflow_id', 'text', (c) => c.notNull())
    .addColumn('decision', 'text', (c) => c.notNull().check(sql`decision in ('promote', 'keep', 'revert')`))
    .addColumn('negative', 'boolean', (c) => c.notNull())
    .addColumn('improvement', 'double precision', (c) => c.notNull())
    .addColumn('figures', 'jsonb', (c) => c.notNull())
    .addColumn('target_version', 'integer')
    .addColumn('live_version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', now)
    .addPrimaryKeyConstraint('learning_transfers_pk', ['scheduled_at', 'source', 'target', 'pattern', 'method'])
    .execute();
  await db.schema.createIndex('learning_transfers_target').on('learning_transfers').columns(['target', 'scheduled_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['learning_transfers', 'learning_models', 'learning_domain_rows', 'learning_domains']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
