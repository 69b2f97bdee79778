/**
 * Transfer learning in PostgreSQL (migration 0014_transfer_learning): domains and their fixed split, the model
 * registry, and the transfers with their decisions. Every write is keyed, so a retried activity writes once.
 */
import { sql } from 'kysely';
import type { TransferPair } from '../../../contract/learning/transfer/input';
import { transferPairKey } from '../../../contract/learning/transfer/input';
import type { HoldoutMetrics, LinearModel, TransferDecision, TransferFigures } from '../../../contract/learning/transfer/messages';
import type { Db } from '../../db';
import type { LabeledRows } from './model';
import { seededPermutation } from './random';
import type { DomainData } from './synthetic';

const ROW_CHUNK = 500;

/** Which rows of `n` are held out: the first ⌈n·fraction⌉ of the permutation fixed by the seed. */
export function holdoutRows(n: number, seed: number, fraction: number): Set<number> {
  return new Set(seededPermutation(n, seed).slice(0, Math.ceil(n * fraction)));
}

/** Stores the domain and its rows once: `build` runs only when the domain is not (completely) stored yet. */
export async function ensureDomain(db: Db, name: string, build: () => DomainData): Promise<void> {
  const existing = await db.selectFrom('learning_domains').select(['row_count']).where('name', '=', name).executeTakeFirst();
  const stored = existing ? Number((await db.selectFrom('learning_domain_rows').select(db.fn.countAll().as('n')).where('domain', '=', name).executeTakeFirstOrThrow()).n) : 0;
  if (existing && stored === existing.row_count) return;
  const data = build();
  await db
    .insertInto('learning_domains')
    .values({ name: data.name, feature_names: JSON.stringify(data.featureNames), origin: JSON.stringify(data.origin), split_seed: data.splitSeed, holdout_fraction: data.holdoutFraction, row_count: data.features.length })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const holdout = holdoutRows(data.features.length, data.splitSeed, data.holdoutFraction);
  for (let from = 0; from < data.features.length; from += ROW_CHUNK) {
    const rows = data.features.slice(from, from + ROW_CHUNK).map((features, k) => {
      const index = from + k;
      return { domain: data.name, row_index: index, features: JSON.stringify(features), label: data.labels[index], split: holdout.has(index) ? ('holdout' as const) : ('train' as const) };
    });
    await db.insertInto('learning_domain_rows').values(rows).onConflict((oc) => oc.columns(['domain', 'row_index']).doNothing()).execute();
  }
}

export interface DomainSplit {
  name: string;
  featureNames: string[];
  train: LabeledRows;
  holdout: LabeledRows;
}

/** A stored domain's train and holdout rows, in row order. */
export async function readDomainSplit(db: Db, name: string): Promise<DomainSplit> {
  const domain = await db.selectFrom('learning_domains').select(['feature_names']).where('name', '=', name).executeTakeFirst();
  if (!domain) throw new Error(`domain ${name} is not stored`);
  const rows = await db.selectFrom('learning_domain_rows').select(['features', 'label', 'split']).where('domain', '=', name).orderBy('row_index').execute();
  const split: DomainSplit = { name, featureNames: domain.feature_names as string[], train: { features: [], labels: [] }, holdout: { features: [], labels: [] } };
  for (const row of rows) {
    const side = row.split === 'train' ? split.train : split.holdout;
    side.features.push(row.features as number[]);
    side.labels.push(row.label);
  }
  return split;
}

/** A registry version of a domain's model. */
export interface ModelVersion {
  domain: string;
  version: number;
  origin: 'independent' | 'transfer';
  model: LinearModel;
  metrics: HoldoutMetrics;
  live: boolean;
  parents: Array<{ domain: string; version: number }>;
  createdAt: string;
}

function toVersion(row: { domain: string; version: number; origin: 'independent' | 'transfer'; model: unknown; metrics: unknown; live: boolean; parents: unknown; created_at: Date }): ModelVersion {
  return { domain: row.domain, version: row.version, origin: row.origin, model: row.model as LinearModel, metrics: row.metrics as HoldoutMetrics, live: row.live, parents: row.parents as ModelVersion['parents'], createdAt: row.created_at.toISOString() };
}

const versionColumns = ['domain', 'version', 'origin', 'model', 'metrics', 'live', 'parents', 'created_at'] as const;

export async function liveModel(db: Db, domain: string): Promise<ModelVersion | undefined> {
  const row = await db.selectFrom('learning_models').select(versionColumns).where('domain', '=', domain).where('live', '=', true).executeTakeFirst();
  return row ? toVersion(row) : undefined;
}

export async function modelVersion(db: Db, domain: string, version: number): Promise<ModelVersion | undefined> {
  const row = await db.selectFrom('learning_models').select(versionColumns).where('domain', '=', domain).where('version', '=', version).executeTakeFirst();
  return row ? toVersion(row) : undefined;
}

export async function modelVersions(db: Db, domain: string): Promise<ModelVersion[]> {
  return (await db.selectFrom('learning_models').select(versionColumns).where('domain', '=', domain).orderBy('version').execute()).map(toVersion);
}

/** Registers the domain's independent model as version 1, live, unless the domain has one already. */
export async function registerIndependentModel(db: Db, domain: string, model: LinearModel, metrics: HoldoutMetrics): Promise<void> {
  await db
    .insertInto('learning_models')
    .values({ domain, version: 1, origin: 'independent', model: JSON.stringify(model), metrics: JSON.stringify(metrics), live: true, parents: '[]', write_key: `independent:${domain}` })
    .onConflict((oc) => oc.doNothing())
    .execute();
}

export interface TransferRecord {
  scheduledAt: string;
  workflowId: string;
  pair: TransferPair;
  decision: TransferDecision;
  negative: boolean;
  improvement: number;
  figures: TransferFigures;
  /** The transferred model (registered as a new live version on promote). */
  model: LinearModel;
}

export interface RecordedTransfer {
  /** False: this (scheduled time, pair) was recorded before; nothing was written. */
  recorded: boolean;
  registeredVersion?: number;
  liveVersion: number;
  /** The workflow that wrote the record (this one, or the earlier cycle of the same scheduled time). */
  writtenBy: string;
}

/**
 * Records the transfer's decision, once per (scheduled time, pair), in one transaction: promote registers the
 * transferred model as the target's next version and makes it live (the previous stays); revert takes the target
 * back to the version before a live model this same pair promoted (its source may have changed since); keep changes
 * nothing.
 */
export async function recordTransfer(db: Db, record: TransferRecord): Promise<RecordedTransfer> {
  const { pair } = record;
  const key = { scheduled_at: new Date(record.scheduledAt), source: pair.source, target: pair.target, pattern: pair.pattern, method: pair.method };
  return db.transaction().execute(async (tx) => {
    const previous = await tx
      .selectFrom('learning_transfers')
      .select(['target_version', 'live_version', 'workflow_id'])
      .where('scheduled_at', '=', key.scheduled_at).where('source', '=', key.source).where('target', '=', key.target).where('pattern', '=', key.pattern).where('method', '=', key.method)
      .executeTakeFirst();
    if (previous) return { recorded: false, liveVersion: previous.live_version, writtenBy: previous.workflow_id, ...(previous.target_version !== null ? { registeredVersion: previous.target_version } : {}) };
    // One writer per target at a time: versions are numbered under this lock.
    await sql`SELECT pg_advisory_xact_lock(hashtext(${`learning_models:${pair.target}`}))`.execute(tx);
    const live = await tx.selectFrom('learning_models').select(['version', 'origin', 'parents', 'write_key']).where('domain', '=', pair.target).where('live', '=', true).executeTakeFirst();
    if (!live) throw new Error(`domain ${pair.target} has no live model to transfer to`);
    let liveVersion = live.version;
    let registeredVersion: number | undefined;
    if (record.decision === 'promote') {
      const top = await tx.selectFrom('learning_models').select((eb) => eb.fn.max('version').as('v')).where('domain', '=', pair.target).executeTakeFirstOrThrow();
      registeredVersion = Number(top.v) + 1;
      await tx.updateTable('learning_models').set({ live: false }).where('domain', '=', pair.target).where('live', '=', true).execute();
      await tx
        .insertInto('learning_models')
        .values({
          domain: pair.target,
          version: registeredVersion,
          origin: 'transfer',
          model: JSON.stringify(record.model),
          metrics: JSON.stringify(record.figures.transferred),
          live: true,
          parents: JSON.stringify([{ domain: pair.target, version: live.version }, { domain: pair.source, version: record.figures.sourceVersion }]),
          write_key: `transfer:${record.scheduledAt}:${transferPairKey(pair)}`,
        })
        .execute();
      liveVersion = registeredVersion;
    } else if (record.decision === 'revert') {
      // Only a live model this same pair promoted is taken back: another pair's promotion was judged on its own figures.
      const fromThisPair = live.origin === 'transfer' && live.write_key.endsWith(`:${transferPairKey(pair)}`);
      const before = (live.parents as Array<{ domain: string; version: number }>).find((p) => p.domain === pair.target);
      if (fromThisPair && before) {
        await tx.updateTable('learning_models').set({ live: false }).where('domain', '=', pair.target).where('live', '=', true).execute();
        await tx.updateTable('learning_models').set({ live: true }).where('domain', '=', pair.target).where('version', '=', before.version).execute();
        liveVersion = before.version;
      }
    }
    await tx
      .insertInto('learning_transfers')
      .values({ ...key, workflow_id: record.workflowId, decision: record.decision, negative: record.negative, improvement: record.improvement, figures: JSON.stringify(record.figures), target_version: registeredVersion ?? null, live_version: liveVersion })
      .execute();
    return { recorded: true, liveVersion, writtenBy: record.workflowId, ...(registeredVersion !== undefined ? { registeredVersion } : {}) };
  });
}

/** One recorded transfer, as `ados learn transfers` lists it. */
export interface TransferEntry {
  scheduledAt: string;
  source: string;
  target: string;
  pattern: string;
  method: string;
  decision: TransferDecision;
  negative: boolean;
  improvement: number;
  independentAuc: number;
  transferredAuc: number;
  registeredVersion?: number;
  liveVersion: number;
  workflowId: string;
}

/** An edge of the transfer network: what one source did for one target over every cycle. */
export interface TransferEdge {
  source: string;
  target: string;
  cycles: number;
  promoted: number;
  kept: number;
  reverted: number;
  /** The latest cycle's relative AUC improvement, and when it was scheduled. */
  lastImprovement: number;
  lastAt: string;
  bestImprovement: number;
}

export interface TransferNetwork {
  edges: TransferEdge[];
  transfers: TransferEntry[];
}

/** The transfer network (which domain helped which, by how much, when), newest transfers first. */
export async function transferNetwork(db: Db, filter: { target?: string; source?: string; limit?: number } = {}): Promise<TransferNetwork> {
  let query = db.selectFrom('learning_transfers').selectAll();
  if (filter.target) query = query.where('target', '=', filter.target);
  if (filter.source) query = query.where('source', '=', filter.source);
  const rows = await query.orderBy('scheduled_at', 'desc').orderBy('source').orderBy('target').execute();
  const transfers: TransferEntry[] = rows.map((row) => {
    const figures = row.figures as TransferFigures;
    return {
      scheduledAt: row.scheduled_at.toISOString(),
      source: row.source,
      target: row.target,
      pattern: row.pattern,
      method: row.method,
      decision: row.decision,
      negative: row.negative,
      improvement: row.improvement,
      independentAuc: figures.independent.auc,
      transferredAuc: figures.transferred.auc,
      ...(row.target_version !== null ? { registeredVersion: row.target_version } : {}),
      liveVersion: row.live_version,
      workflowId: row.workflow_id,
    };
  });
  const edges = new Map<string, TransferEdge>();
  for (const t of transfers) {
    const id = `${t.source}→${t.target}`;
    const edge = edges.get(id) ?? { source: t.source, target: t.target, cycles: 0, promoted: 0, kept: 0, reverted: 0, lastImprovement: t.improvement, lastAt: t.scheduledAt, bestImprovement: t.improvement };
    edge.cycles++;
    if (t.decision === 'promote') edge.promoted++;
    else if (t.decision === 'keep') edge.kept++;
    else edge.reverted++;
    edge.bestImprovement = Math.max(edge.bestImprovement, t.improvement);
    edges.set(id, edge);
  }
  return { edges: [...edges.values()], transfers: filter.limit ? transfers.slice(0, filter.limit) : transfers };
}
