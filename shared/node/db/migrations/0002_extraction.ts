import { type Kysely, sql } from 'kysely';

/** Schema extraction: schemas seen, migrations applied, the content-hash cache, artifacts, per-run node outcomes, manifests. */
export async function up(db: Kysely<any>): Promise<void> {
  const createdAt = (c: any) => c.notNull().defaultTo(sql`now()`);

  await db.schema
    .createTable('schemas')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('original_version', 'text', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('document', 'jsonb', (c) => c.notNull())
    .addColumn('file', 'text', (c) => c.notNull())
    .addColumn('first_workflow_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', createdAt)
    .addUniqueConstraint('schemas_once', ['tenant_id', 'name', 'sha256'])
    .execute();

  await db.schema
    .createTable('schema_migrations_applied')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('workflow_id', 'text', (c) => c.notNull())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('agent', 'text', (c) => c.notNull())
    .addColumn('file', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('migration_id', 'text', (c) => c.notNull())
    .addColumn('from_version', 'text', (c) => c.notNull())
    .addColumn('to_version', 'text', (c) => c.notNull())
    .addColumn('breaking', 'boolean', (c) => c.notNull())
    .addColumn('changes', 'jsonb', (c) => c.notNull())
    .addColumn('warnings', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', createdAt)
    .addUniqueConstraint('schema_migrations_applied_once', ['workflow_id', 'agent', 'seq'])
    .execute();

  await db.schema
    .createTable('extraction_artifacts')
    .addColumn('sha256', 'text', (c) => c.primaryKey())
    .addColumn('content', 'text', (c) => c.notNull())
    .addColumn('bytes', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', createdAt)
    .execute();

  await db.schema
    .createTable('schema_cache')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('agent', 'text', (c) => c.notNull())
    .addColumn('cache_key', 'text', (c) => c.notNull())
    .addColumn('schema_sha256', 'text', (c) => c.notNull())
    .addColumn('extractor_version', 'text', (c) => c.notNull())
    .addColumn('glue_version', 'text', (c) => c.notNull())
    .addColumn('dependencies', 'jsonb', (c) => c.notNull())
    .addColumn('output_sha256', 'text', (c) => c.notNull())
    .addColumn('artifacts', 'jsonb', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', createdAt)
    .addUniqueConstraint('schema_cache_once', ['tenant_id', 'cache_key'])
    .execute();
  await db.schema.createIndex('schema_cache_latest').on('schema_cache').columns(['tenant_id', 'agent', 'id']).execute();

  await db.schema
    .createTable('extraction_nodes')
    .addColumn('workflow_id', 'text', (c) => c.notNull())
    .addColumn('agent', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('cache_key', 'text')
    .addColumn('output_sha256', 'text')
    .addColumn('reason', 'text')
    .addColumn('error', 'text')
    .addColumn('worker', 'text')
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .addColumn('duration_ms', 'integer')
    .addPrimaryKeyConstraint('extraction_nodes_pk', ['workflow_id', 'agent'])
    .execute();

  await db.schema
    .createTable('manifests')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('agent', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('recorded_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', createdAt)
    .addUniqueConstraint('manifests_once', ['tenant_id', 'agent', 'recorded_by'])
    .execute();
  await db.schema.createIndex('manifests_latest').on('manifests').columns(['tenant_id', 'agent', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['manifests', 'extraction_nodes', 'schema_cache', 'extraction_artifacts', 'schema_migrations_applied', 'schemas']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
