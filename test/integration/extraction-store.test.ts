/**
 * The extraction cache's storage on a real database (PGlite, nothing mocked): the batched access the extract workers
 * share (coalesced lookups answer each caller with its own row; concurrent commits and overlapping artifact writes
 * store each row once), and the extract activity itself in a MockActivityEnvironment: a miss extracts and commits,
 * the same request then hits; a cancellation before the commit point leaves no cache entry (only content-addressed
 * blobs nobody points at), so the retry extracts again; a schemaSha256 that does not match the schema is refused
 * before anything is written; with slack, a burst of starts does its bookkeeping only once the burst has passed. The full pipeline (workflow, workers, CLI) is in extraction.test.ts.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { KyselyPlugin } from 'kysely';
import { findCacheEntries, type CacheEntryRow } from '../../shared/node/extraction/cache';
import { batchedCacheAccess, directCacheAccess } from '../../activities/extraction/cache-access';
import { BURST_MAX_WAIT_MS, BURST_QUIET_MS, createExtractionWorkerActivities, type ExtractionWorkerActivities } from '../../activities/extraction/extract';
import { generateArtifacts } from '../../shared/node/extraction/generators';
import { GENERATOR_VERSIONS } from '../../shared/node/extraction/generators/version';
import { artifactRefs, cacheKey, outputSha256, schemaSha256, sha256 } from '../../shared/node/extraction/hashing';
import { artifactBlobs, storeArtifacts, storeCacheEntries, type ArtifactBlob, type CacheEntryInput } from '../../shared/node/extraction/store';
import type { ArtifactRef, CacheKeyParts, ExtractAgentRequest, ExtractAgentResult } from '../../shared/contract/extraction/messages';
import type { AgentSchema } from '../../shared/contract/extraction/schema';
import { validateSchemaSet } from '../../shared/contract/extraction/validate';
import { migrateToLatest, openDatabase, type DatabaseHandle, type Db } from '../../shared/node/db';
import type { EmbeddedPostgres } from '../../shared/node/db/embedded';
import { createLogger } from '../../shared/node/logger';
import { quietGate } from '../../shared/node/quiet-gate';
import { agentDocument } from '../helpers/extraction';
import { startEmbeddedPostgresThread } from '../helpers/embedded-postgres-thread';
import { eventually, sleep } from '../helpers/eventually';

let server: EmbeddedPostgres;
let handle: DatabaseHandle;
let db: Db;

beforeAll(async () => {
  server = await startEmbeddedPostgresThread();
  handle = await openDatabase(server.url, { poolSize: 1 });
  db = handle.db;
  await migrateToLatest(db);
}, 60_000);

afterAll(async () => {
  await handle?.close();
  await server?.stop();
}, 60_000);

/** Typed schemas as the workflow gets them: validated (and migrated) by validateSchemaSet. */
function schemas(...documents: Array<Record<string, unknown>>): Map<string, AgentSchema> {
  const report = validateSchemaSet(documents.map((document) => ({ file: `${String(document.name)}.yaml`, document })));
  if (!report.ok) throw new Error(`test schemas do not validate: ${JSON.stringify(report.issues)}`);
  return new Map(report.schemas.map((s) => [s.schema!.name, s.schema!]));
}

/** What extracting `schema` produces, computed here the way extractOne does, to check what it stored. */
function extraction(schema: AgentSchema, dependencies: Record<string, string> = {}) {
  const sha = schemaSha256(schema);
  const parts: CacheKeyParts = { schemaSha256: sha, ...GENERATOR_VERSIONS, dependencies };
  const artifacts = generateArtifacts(schema, sha, dependencies);
  const refs = artifactRefs(artifacts);
  return { sha, parts, key: cacheKey(parts), refs, blobs: artifactBlobs(artifacts, refs), output: outputSha256(refs) };
}

function entryFor(tenantId: string, schema: AgentSchema, createdBy = 'test'): CacheEntryInput {
  const { parts, key, refs, output } = extraction(schema);
  return { tenantId, agent: schema.name, cacheKey: key, parts, outputSha256: output, refs, createdBy };
}

const cacheRows = (tenantId: string, key?: string) => {
  let query = db.selectFrom('schema_cache').selectAll().where('tenant_id', '=', tenantId);
  if (key) query = query.where('cache_key', '=', key);
  return query.execute();
};

const blobRows = async (hashes: readonly string[]) =>
  hashes.length === 0 ? [] : db.selectFrom('extraction_artifacts').select(['sha256', 'content', 'bytes']).where('sha256', 'in', [...hashes]).execute();

const count = async (table: 'schema_cache' | 'extraction_artifacts') =>
  Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);

/** The same database with every statement counted: what a batch costs, observed on the real queries (not a mock). */
function countingStatements(): { db: Db; statements: () => number } {
  let statements = 0;
  const plugin: KyselyPlugin = {
    transformQuery: (args) => {
      statements++;
      return args.node;
    },
    transformResult: async (args) => args.result,
  };
  return { db: db.withPlugin(plugin), statements: () => statements };
}

describe('batched cache access', () => {
  const agents = schemas(agentDocument('Alpha', []), agentDocument('Beta', []), agentDocument('Gamma', []));
  const [alpha, beta, gamma] = ['Alpha', 'Beta', 'Gamma'].map((name) => agents.get(name)!);

  test('concurrent lookups for two tenants, hits and misses, answer each caller with its own row, in at most two statements', async () => {
    // Alpha stored for both tenants, Beta only for tenant b, Gamma for nobody; the same key therefore hits for one
    // tenant and misses for the other, which a lookup by key alone would get wrong.
    const stored = [entryFor('store_a', alpha, 'run-a'), entryFor('store_b', alpha, 'run-b'), entryFor('store_b', beta, 'run-b')];
    await storeArtifacts(db, stored.flatMap((e) => extraction(agents.get(e.agent)!).blobs));
    await storeCacheEntries(db, stored);

    const wanted = [
      { tenantId: 'store_a', key: extraction(alpha).key },
      { tenantId: 'store_b', key: extraction(alpha).key },
      { tenantId: 'store_a', key: extraction(beta).key },
      { tenantId: 'store_b', key: extraction(beta).key },
      { tenantId: 'store_a', key: extraction(gamma).key },
      { tenantId: 'store_b', key: extraction(gamma).key },
    ];
    const counted = countingStatements();
    const access = batchedCacheAccess(counted.db);
    const found = await Promise.all(wanted.map((w) => access.find(w.tenantId, w.key)));

    const brief = (row: CacheEntryRow | undefined) => row && { agent: row.agent, createdBy: row.created_by, output: row.output_sha256 };
    expect(found.map(brief)).toEqual([
      { agent: 'Alpha', createdBy: 'run-a', output: extraction(alpha).output },
      { agent: 'Alpha', createdBy: 'run-b', output: extraction(alpha).output },
      undefined,
      { agent: 'Beta', createdBy: 'run-b', output: extraction(beta).output },
      undefined,
      undefined,
    ]);
    expect(found[0]!.artifacts).toEqual(extraction(alpha).refs);
    // The same answers as one explicit multi-key lookup, and as one statement per key.
    expect(found).toEqual(await findCacheEntries(db, wanted));
    expect(found).toEqual(await Promise.all(wanted.map((w) => directCacheAccess(db).find(w.tenantId, w.key))));
    // Coalesced: six lookups, at most two statements (the first goes out alone, the five made meanwhile share the next).
    expect(counted.statements()).toBeLessThanOrEqual(2);
  });

  test('concurrent commits of one (tenant, key) store one entry, from one worker or from two', async () => {
    const entry = entryFor('commit_t', gamma, 'first');
    await storeArtifacts(db, extraction(gamma).blobs); // an entry never exists without its artifacts

    // One worker: the concurrent commits share a batch (duplicates within it are written once).
    const worker = batchedCacheAccess(db);
    await Promise.all([worker.commit(entry), worker.commit({ ...entry, createdBy: 'second' }), worker.commit({ ...entry, createdBy: 'third' })]);
    // Two workers racing on the same key: separate statements, the unique (tenant_id, cache_key) keeps one row.
    const other = { ...entry, tenantId: 'commit_u' };
    await Promise.all([batchedCacheAccess(db).commit(other), batchedCacheAccess(db).commit({ ...other, createdBy: 'rival' }), directCacheAccess(db).commit(other)]);

    expect(await cacheRows('commit_t')).toHaveLength(1);
    expect(await cacheRows('commit_u')).toHaveLength(1);
    // A later commit of the same key changes nothing: the entry is written once and then only read.
    const [before] = await cacheRows('commit_t');
    await worker.commit({ ...entry, createdBy: 'late' });
    expect(await cacheRows('commit_t')).toEqual([before]);
  });

  test('concurrent artifact writes with overlapping sha256s store each blob once, intact', async () => {
    const blob = (content: string): ArtifactBlob => ({ sha256: sha256(content), content, bytes: Buffer.byteLength(content, 'utf8') });
    const [a, b, c, d] = ['blob a', 'blob b', 'blob c ünïcödé', 'blob d'].map(blob);
    const worker = batchedCacheAccess(db);
    await Promise.all([
      worker.storeArtifacts([a, b]),
      worker.storeArtifacts([b, c, c]),
      worker.storeArtifacts([c, d, a]),
      batchedCacheAccess(db).storeArtifacts([a, d]),
      directCacheAccess(db).storeArtifacts([b, d]),
    ]);
    const rows = await blobRows([a, b, c, d].map((x) => x.sha256));
    expect(rows.sort((x, y) => x.content.localeCompare(y.content))).toEqual([a, b, c, d]);
  });
});

describe('the extract activity', () => {
  const agents = schemas(
    agentDocument('Base', []),
    agentDocument('Dependent', ['Base']),
    agentDocument('Interrupted', []),
    agentDocument('Mismatched', []),
  );
  let activities: ExtractionWorkerActivities;

  beforeAll(() => {
    activities = createExtractionWorkerActivities({ db, logger: createLogger('test', 'warn'), workerIdentity: 'w1' });
  });

  function request(tenantId: string, agent: AgentSchema, extra: Partial<ExtractAgentRequest> = {}): ExtractAgentRequest {
    return {
      tenantId,
      workflowId: `extraction-${tenantId}`,
      agent,
      schemaSha256: schemaSha256(agent),
      dependencies: {},
      ...GENERATOR_VERSIONS,
      simulatedWorkMs: 50,
      ...extra,
    };
  }

  const shas = (refs: readonly ArtifactRef[]) => refs.map((r) => r.sha256);

  /** A fresh activity context per call (a cancelled one stays cancelled); the SDK's logger quiet, as the failures here are expected. */
  const environment = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  const extractAgent = (req: ExtractAgentRequest, env = environment()): Promise<ExtractAgentResult> => env.run(activities.extractAgent, req);

  test('a miss extracts, writes the blobs and then the entry; the same request then hits and writes nothing', async () => {
    const dependent = agents.get('Dependent')!;
    // A dependency's output hash is part of the key and of the generated module.
    const dependencies = { Base: extraction(agents.get('Base')!).output };
    const expected = extraction(dependent, dependencies);
    const req = request('activity_t', dependent, { dependencies });

    const first = await extractAgent(req);
    expect(first).toMatchObject({ cached: false, cacheKey: expected.key, outputSha256: expected.output, artifacts: expected.refs, worker: 'w1', attempt: 1 });
    const [row] = await cacheRows('activity_t', expected.key);
    expect(row).toMatchObject({
      agent: 'Dependent',
      schema_sha256: expected.sha,
      extractor_version: GENERATOR_VERSIONS.extractorVersion,
      glue_version: GENERATOR_VERSIONS.glueVersion,
      dependencies,
      output_sha256: expected.output,
      artifacts: first.artifacts,
      created_by: 'extraction-activity_t',
    });
    // The entry points only at blobs that exist, with the reported hashes and sizes.
    expect(await blobRows(shas(first.artifacts))).toHaveLength(first.artifacts.length);
    for (const stored of await blobRows(shas(first.artifacts))) {
      expect(stored).toEqual(expected.blobs.find((b) => b.sha256 === stored.sha256));
    }

    const [entries, blobs] = [await count('schema_cache'), await count('extraction_artifacts')];
    // Long simulated work: a hit must stop it rather than wait it out.
    const started = Date.now();
    const second = await extractAgent({ ...req, workflowId: 'extraction-again', simulatedWorkMs: 5_000 });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(second).toMatchObject({ cached: true, cacheKey: first.cacheKey, outputSha256: first.outputSha256, artifacts: first.artifacts });
    expect([await count('schema_cache'), await count('extraction_artifacts')]).toEqual([entries, blobs]);
    expect(await cacheRows('activity_t')).toEqual([row]);
  });

  test('cancelled before the commit point: no cache entry (the blobs may stay), and the retry extracts and commits', async () => {
    const agent = agents.get('Interrupted')!;
    const expected = extraction(agent);
    const env = environment();
    const running = extractAgent(request('cancel_t', agent, { simulatedWorkMs: 2_000 }), env);
    running.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile

    // The blobs are written while the simulated work still runs; cancel then, before the entry can be.
    await eventually('artifacts written during the simulated work', 10_000, async () =>
      (await blobRows(shas(expected.refs))).length === expected.refs.length ? true : undefined, 10);
    expect(await cacheRows('cancel_t')).toEqual([]);
    const cancelledAt = Date.now();
    env.cancel();
    await expect(running).rejects.toBeInstanceOf(CancelledFailure);
    // Promptly: the work stops on cancellation rather than running out its 2 s.
    expect(Date.now() - cancelledAt).toBeLessThan(1_000);
    expect(await cacheRows('cancel_t')).toEqual([]);

    // The next attempt (in a fresh context) finds no entry, so it extracts again.
    const retried = await extractAgent(request('cancel_t', agent, { simulatedWorkMs: 0 }));
    expect(retried).toMatchObject({ cached: false, cacheKey: expected.key, outputSha256: expected.output });
    expect(await cacheRows('cancel_t', expected.key)).toEqual([expect.objectContaining({ agent: 'Interrupted', output_sha256: expected.output })]);
  });

  test('a schemaSha256 that does not match the schema is refused (non-retryable) before anything is written', async () => {
    const agent = agents.get('Mismatched')!;
    const [entries, blobs] = [await count('schema_cache'), await count('extraction_artifacts')];
    // The hash of another schema: what a caller that hashed another document would send.
    const req = request('mismatch_t', agent, { schemaSha256: schemaSha256(agents.get('Base')!) });

    const error = await extractAgent(req).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect(error).toMatchObject({ type: 'InvalidExtractionInput', nonRetryable: true });
    expect((error as Error).message).toContain('does not match the schema of Mismatched');
    expect([await count('schema_cache'), await count('extraction_artifacts')]).toEqual([entries, blobs]);
    expect(await blobRows(shas(extraction(agent).refs))).toEqual([]);
    expect(await cacheRows('mismatch_t')).toEqual([]);
  });

  test('with slack, a burst of starts looks up only once the burst has passed; without slack, at once', async () => {
    const burstAgents = schemas(agentDocument('Burst A', []), agentDocument('Burst B', []), agentDocument('Burst C', []), agentDocument('No slack', []));
    const lookups: Array<{ agent: string; at: number }> = [];
    const batched = batchedCacheAccess(db);
    const keyToAgent = new Map([...burstAgents.values()].map((a) => [extraction(a).key, a.name]));
    const recording = {
      ...batched,
      find: (tenantId: string, key: string) => {
        lookups.push({ agent: keyToAgent.get(key) ?? key, at: Date.now() });
        return batched.find(tenantId, key);
      },
    };
    const waits: number[] = [];
    // The worker's own gate, with its arrivals recorded: what "quiet" is measured from.
    const arrivals: number[] = [];
    const gate = quietGate(BURST_QUIET_MS);
    const burst = { arrived: () => (arrivals.push(Date.now()), gate.arrived()), quiet: gate.quiet };
    const worker = createExtractionWorkerActivities({ db, logger: createLogger('test', 'warn'), workerIdentity: 'w2', cache: recording, burst });
    const start = (name: string, simulatedWorkMs: number): Promise<ExtractAgentResult> => environment().run(worker.extractAgent, request('burst_t', burstAgents.get(name)!, { simulatedWorkMs }));

    // Three starts 4 ms apart, each with 200 ms of slack: nobody looks up before the worker was quiet for BURST_QUIET_MS
    // (or, under a load that spreads the starts, before its own wait ran out: BURST_MAX_WAIT_MS caps it).
    const runs: Array<Promise<ExtractAgentResult>> = [];
    for (const name of ['Burst A', 'Burst B', 'Burst C']) {
      if (runs.length > 0) await sleep(4);
      runs.push(start(name, 200));
    }
    const results = await Promise.all(runs);
    expect(results.map((r) => r.cached)).toEqual([false, false, false]);
    expect(lookups.map((l) => l.agent).sort()).toEqual(['Burst A', 'Burst B', 'Burst C']);
    // Timers never fire early; Date.now() has 1 ms steps.
    expect(arrivals).toHaveLength(3);
    const maxWaitMs = Math.min(200 / 4, BURST_MAX_WAIT_MS);
    for (const lookup of lookups) {
      const own = arrivals[['Burst A', 'Burst B', 'Burst C'].indexOf(lookup.agent)];
      const latest = Math.max(...arrivals.filter((at) => at <= lookup.at));
      expect(lookup.at >= latest + BURST_QUIET_MS - 1 || lookup.at >= own + maxWaitMs - 1).toBe(true);
    }
    expect(await cacheRows('burst_t')).toHaveLength(3);

    // Without slack (a real extraction) the activity never waits for the gate, even right after a start.
    const gated = createExtractionWorkerActivities({
      db,
      logger: createLogger('test', 'warn'),
      workerIdentity: 'w3',
      burst: { arrived: () => undefined, quiet: async (maxWaitMs) => void waits.push(maxWaitMs) },
    });
    const noSlack: ExtractAgentResult = await environment().run(gated.extractAgent, request('burst_t', burstAgents.get('No slack')!, { simulatedWorkMs: 0 }));
    expect(noSlack.cached).toBe(false);
    expect(waits).toEqual([]);
    // With slack, at most a quarter of it (and never more than 50 ms).
    await environment().run(gated.extractAgent, request('burst_t2', burstAgents.get('Burst A')!, { simulatedWorkMs: 80 }));
    await environment().run(gated.extractAgent, request('burst_t2', burstAgents.get('Burst B')!, { simulatedWorkMs: 1_000 }));
    expect(waits).toEqual([20, 50]);
  });
});
