/**
 * Drift: the manifests in a deployed directory against the recorded ones (the latest `manifests`
 * row per agent: from an extraction, or accepted from a deployed dir). A changed manifest is
 * classified by the schema sections its changes belong to (MANIFEST_SECTIONS): governance, memory
 * or deployment = critical, metadata (and formatting only) = minor, anything else = major.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { diffValues, sectionImpact, worstImpact, type ChangeImpact } from '../../contract/extraction/diff';
import type { Db } from '../db';
import { manifestSection, MANIFEST_FILE } from './generators/manifest';
import { sha256 } from './hashing';
import { loadArtifactContents } from './store';

/** Where a deployed manifest stands against the recorded one. */
export type DriftStatus = 'in-sync' | 'drifted' | 'missing' | 'unrecorded';

export interface ManifestChange {
  path: string;
  kind: 'added' | 'removed' | 'changed';
  section: string;
  impact: ChangeImpact;
  before?: unknown;
  after?: unknown;
}

export interface DriftEntry {
  agent: string;
  /** Relative to the deployed dir. */
  path: string;
  status: DriftStatus;
  severity?: ChangeImpact;
  sections: string[];
  changes: ManifestChange[];
  recordedSha256?: string;
  deployedSha256?: string;
  recordedBy?: string;
  remediation: string[];
}

export interface DriftReport {
  tenantId: string;
  dir: string;
  entries: DriftEntry[];
  drifted: number;
}

type Manifest = Record<string, unknown>;

/** The manifest's documents keyed by kind (Deployment, Service, ...), or an error message. */
export function parseManifest(text: string): { ok: true; manifest: Manifest } | { ok: false; error: string } {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) return { ok: false, error: 'not a YAML stream' };
  const manifest: Manifest = {};
  for (const doc of docs) {
    if (doc.errors.length > 0) return { ok: false, error: doc.errors[0].message.split('\n')[0] };
    const value = doc.toJS() as { kind?: unknown } | null;
    if (value === null) continue;
    const kind = typeof value.kind === 'string' ? value.kind : `document${Object.keys(manifest).length}`;
    manifest[kind] = value;
  }
  return { ok: true, manifest };
}

/** Classifies the difference between the recorded and the deployed manifest text. */
export function classifyManifestDrift(recorded: string, deployed: string): { severity?: ChangeImpact; sections: string[]; changes: ManifestChange[] } {
  if (recorded === deployed) return { sections: [], changes: [] };
  const before = parseManifest(recorded);
  const after = parseManifest(deployed);
  if (!after.ok) {
    return {
      severity: 'critical',
      sections: ['unparseable'],
      changes: [{ path: '(file)', kind: 'changed', section: 'unparseable', impact: 'critical', after: `not valid YAML: ${after.error}` }],
    };
  }
  if (!before.ok) throw new Error(`the recorded manifest does not parse: ${before.error}`);
  const changes: ManifestChange[] = diffValues(before.manifest, after.manifest).map((c) => {
    const section = manifestSection(c.path);
    return { ...c, section, impact: section === 'other' ? 'major' : sectionImpact(section) };
  });
  if (changes.length === 0) {
    return { severity: 'minor', sections: ['formatting'], changes: [{ path: '(file)', kind: 'changed', section: 'formatting', impact: 'minor' }] };
  }
  const sections = [...new Set(changes.map((c) => c.section))].sort();
  return { severity: worstImpact(changes.map((c) => c.impact)), sections, changes };
}

export function remediation(entry: Pick<DriftEntry, 'agent' | 'status' | 'severity'>, dir: string): string[] {
  const agent = JSON.stringify(entry.agent);
  const accept = `accept: keep the deployed manifest as the new baseline: ados schema drift --dir ${dir} --accept ${agent}`;
  const rollback = `roll back: write the recorded manifest back: ados schema drift --dir ${dir} --rollback ${agent}`;
  const reextract = `re-extract: regenerate from the schemas (put the change in the schema first to keep it): ados extract <schemas dir> --out ${dir}`;
  if (entry.status === 'missing') return [rollback, reextract];
  if (entry.status === 'unrecorded') return [`accept: record it as the baseline: ados schema drift --dir ${dir} --accept ${agent}`];
  if (entry.status !== 'drifted') return [];
  // Critical drift bypassed the schema's governance, memory or deployment review: undo it first.
  return entry.severity === 'critical' ? [rollback, reextract, accept] : [accept, rollback, reextract];
}

interface RecordedManifest {
  agent: string;
  path: string;
  sha256: string;
  recorded_by: string;
}

/** The latest recorded manifest of each agent of a tenant. */
export async function recordedManifests(db: Db, tenantId: string): Promise<RecordedManifest[]> {
  return db
    .selectFrom('manifests')
    .select(['agent', 'path', 'sha256', 'recorded_by'])
    .distinctOn('agent')
    .where('tenant_id', '=', tenantId)
    .orderBy('agent')
    .orderBy('id', 'desc')
    .execute();
}

function deployedManifestFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => existsSync(join(dir, name, MANIFEST_FILE)) && statSync(join(dir, name)).isDirectory())
    .map((name) => `${name}/${MANIFEST_FILE}`)
    .sort();
}

const agentAnnotation = (text: string): string | undefined => /^\s*ados\.dev\/agent:\s*(.+?)\s*$/m.exec(text)?.[1]?.replace(/^["']|["']$/g, '');

export async function detectDrift(db: Db, tenantId: string, dir: string): Promise<DriftReport> {
  const recorded = await recordedManifests(db, tenantId);
  const contents = await loadArtifactContents(db, recorded.map((r) => r.sha256));
  const entries: DriftEntry[] = [];
  const seen = new Set<string>();
  for (const r of recorded) {
    seen.add(r.path);
    const file = join(dir, r.path);
    const base = { agent: r.agent, path: r.path, recordedSha256: r.sha256, recordedBy: r.recorded_by, sections: [] as string[], changes: [] as ManifestChange[] };
    if (!existsSync(file)) {
      const entry: DriftEntry = { ...base, status: 'missing', severity: 'critical', remediation: [] };
      entry.remediation = remediation(entry, dir);
      entries.push(entry);
      continue;
    }
    const text = readFileSync(file, 'utf8');
    const deployedSha256 = sha256(text);
    if (deployedSha256 === r.sha256) {
      entries.push({ ...base, status: 'in-sync', deployedSha256, remediation: [] });
      continue;
    }
    const drift = classifyManifestDrift(contents.get(r.sha256)!, text);
    const entry: DriftEntry = { ...base, status: 'drifted', deployedSha256, severity: drift.severity, sections: drift.sections, changes: drift.changes, remediation: [] };
    entry.remediation = remediation(entry, dir);
    entries.push(entry);
  }
  for (const path of deployedManifestFiles(dir)) {
    if (seen.has(path)) continue;
    const text = readFileSync(join(dir, path), 'utf8');
    const entry: DriftEntry = { agent: agentAnnotation(text) ?? path.split('/')[0], path, status: 'unrecorded', deployedSha256: sha256(text), sections: [], changes: [], remediation: [] };
    entry.remediation = remediation(entry, dir);
    entries.push(entry);
  }
  return { tenantId, dir, entries, drifted: entries.filter((e) => e.status !== 'in-sync').length };
}

/** Records the deployed manifest of an agent as its new baseline (`--accept`). */
export async function acceptDeployedManifest(db: Db, tenantId: string, dir: string, agent: string, by: string): Promise<{ path: string; sha256: string }> {
  const report = await detectDrift(db, tenantId, dir);
  const entry = report.entries.find((e) => e.agent === agent);
  if (!entry) throw new Error(`no manifest of agent "${agent}" recorded for tenant ${tenantId} or found in ${dir}; agents: ${report.entries.map((e) => e.agent).join(', ') || 'none'}`);
  const file = join(dir, entry.path);
  if (!existsSync(file)) throw new Error(`${file} does not exist: nothing to accept (roll back or re-extract instead)`);
  const text = readFileSync(file, 'utf8');
  const hash = sha256(text);
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('extraction_artifacts').values({ sha256: hash, content: text, bytes: Buffer.byteLength(text) }).onConflict((oc) => oc.column('sha256').doNothing()).execute();
    await trx
      .insertInto('manifests')
      .values({ tenant_id: tenantId, agent, path: entry.path, sha256: hash, source: 'accepted', recorded_by: `accept:${by}:${new Date().toISOString()}` })
      .execute();
  });
  return { path: entry.path, sha256: hash };
}

/** Writes the recorded manifest of an agent back into the deployed dir (`--rollback`). */
export async function rollBackManifest(db: Db, tenantId: string, dir: string, agent: string): Promise<{ path: string; sha256: string }> {
  const recorded = (await recordedManifests(db, tenantId)).find((r) => r.agent === agent);
  if (!recorded) throw new Error(`no manifest of agent "${agent}" recorded for tenant ${tenantId}`);
  const content = (await loadArtifactContents(db, [recorded.sha256])).get(recorded.sha256)!;
  const file = join(dir, recorded.path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
  return { path: recorded.path, sha256: recorded.sha256 };
}
