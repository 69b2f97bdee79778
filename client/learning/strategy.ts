/**
 * The strategy bandit for the `ados learn` commands: a tenant's arms and scores, off-policy estimates of strategies
 * on its logged runs, its settings, shadow-model training, and starting a model's promotion. Reads and writes PostgreSQL (DATABASE_URL).
 */
import type { Client } from '@temporalio/client';
import { GOAL_TYPES, LEVELS, type Goal } from '../../shared/contract/learning/strategy/bandit';
import { strategyPromotionInputSchema, strategyPromotionWorkflowId, type StrategyPromotion, type StrategyPromotionInput } from '../../shared/contract/learning/strategy/promotion';
import { strategySettingsSchema, type StrategySettings } from '../../shared/contract/learning/strategy/strategy';
import { InputValidationError, issuesFromZod } from '../../shared/contract/validation';
import { AdosAwaitingApproval, AdosKind, AdosStage, AdosTenant } from '../../shared/contract/search-attributes';
import { controlTaskQueue } from '../../shared/contract/task-queues';
import { loadConfig, type AdosConfig } from '../../shared/node/config';
import type { Db } from '../../shared/node/db';
import { banditReport, simulateStrategies, trainShadowModel, type SimulationReport } from '../../shared/node/learning/strategy/service';
import { loadSettings, saveSettings } from '../../shared/node/learning/strategy/store';
import { metaSettingsSchema, type MetaSettings } from '../../shared/contract/learning/strategy/meta';
import { listMetaPatterns, loadMetaSettings, saveMetaSettings } from '../../shared/node/learning/strategy/meta-store';
import type { strategyPromotion } from '../../workflows/learning/strategy/strategy-promotion';
import type { strategyTraining } from '../../workflows/learning/strategy/strategy-training';
import { strategyTrainingWorkflowId, type TrainedModel } from '../../shared/contract/learning/strategy/training';
import { withCliDatabase } from '../common/database';


/**
 * Parses `--context type=deploy,complexity=high,risk=medium,maxCost=50[,at=<ISO time>]` (missing keys: build, low,
 * low, 100, now).
 */
export function parseContextFlag(text: string): { goal: Goal; at: Date } {
  const fields = new Map(text.split(',').filter(Boolean).map((pair) => pair.split('=').map((s) => s.trim()) as [string, string]));
  const issues: { path: string; message: string }[] = [];
  const known = ['type', 'complexity', 'risk', 'maxCost', 'at'];
  for (const key of fields.keys()) if (!known.includes(key)) issues.push({ path: `--context ${key}`, message: `unknown key; use ${known.join(', ')}` });
  const pick = <T extends string>(key: string, values: readonly T[], fallback: T): T => {
    const value = fields.get(key) ?? fallback;
    if (!values.includes(value as T)) issues.push({ path: `--context ${key}`, message: `must be one of ${values.join(', ')}` });
    return value as T;
  };
  const goal: Goal = { type: pick('type', GOAL_TYPES, 'build'), complexity: pick('complexity', LEVELS, 'low'), risk: pick('risk', LEVELS, 'low'), maxCost: Number(fields.get('maxCost') ?? 100) };
  if (!Number.isFinite(goal.maxCost) || goal.maxCost < 0) issues.push({ path: '--context maxCost', message: 'must be a number, zero or more' });
  const at = fields.has('at') ? new Date(fields.get('at')!) : new Date();
  if (Number.isNaN(at.getTime())) issues.push({ path: '--context at', message: 'must be an ISO-8601 time, e.g. 2030-01-01T12:00:00Z' });
  if (issues.length > 0) throw new InputValidationError('context', issues);
  return { goal, at };
}

/** `ados learn show`: the tenant's arms, pulls, mean rewards and, with a context, current scores. */
export function showStrategies(tenantId: string, context?: string) {
  const parsed = context === undefined ? undefined : parseContextFlag(context);
  return withCliDatabase('ados learn show', (db) => banditReport(db, tenantId, parsed));
}

/** `ados learn simulate` / `compare`: IPS and DR estimates of always playing each strategy. */
export function estimateStrategies(tenantId: string, strategies: string[]): Promise<SimulationReport[]> {
  return withCliDatabase('ados learn simulate', (db) => simulateStrategies(db, tenantId, strategies));
}

/** `ados learn configure`: changes the given settings, keeps the others. */
export function configureStrategies(tenantId: string, patch: Partial<StrategySettings>): Promise<StrategySettings> {
  return withCliDatabase('ados learn configure', async (db) => {
    const parsed = strategySettingsSchema.safeParse({ ...(await loadSettings(db, tenantId)), ...patch });
    if (!parsed.success) throw new InputValidationError('strategy settings', issuesFromZod(parsed.error));
    await saveSettings(db, tenantId, parsed.data);
    return parsed.data;
  });
}

/** `ados learn train --local`: trains the tenant's shadow model on its rewarded runs, in this process. */
export function trainShadow(tenantId: string): Promise<TrainedModel> {
  return withCliDatabase('ados learn train', (db) => trainShadowModel(db, tenantId));
}

/**
 * `ados learn train`: runs the `strategyTraining` workflow for the tenant (its heartbeating activity trains on a
 * control worker) and waits for its result. Too few runs is refused like the local training (exit 2).
 */
export async function trainShadowByWorkflow(client: Client, config: AdosConfig, tenantId: string): Promise<TrainedModel & { workflowId: string }> {
  const workflowId = strategyTrainingWorkflowId(tenantId, Date.now());
  const handle = await client.workflow.start<typeof strategyTraining>('strategyTraining', {
    args: [{ tenantIds: [tenantId] }],
    workflowId,
    taskQueue: controlTaskQueue(config.taskQueuePrefix),
    typedSearchAttributes: [
      { key: AdosTenant, value: tenantId },
      { key: AdosKind, value: 'learning' },
    ],
    staticSummary: `train the shadow strategy model of ${tenantId}`,
  });
  const [model] = (await handle.result()).models;
  if (model.outcome === 'too_few_runs') throw new InputValidationError('ados learn train', [{ path: '--tenant', message: model.reason ?? 'too few rewarded runs' }]);
  return { ...model, workflowId };
}

/** A promotion request, validated before anything connects (the workflow validates it again). */
export function validatePromotion(raw: StrategyPromotionInput): StrategyPromotion {
  const parsed = strategyPromotionInputSchema.safeParse(raw);
  if (!parsed.success) throw new InputValidationError('strategy promotion', issuesFromZod(parsed.error));
  return parsed.data;
}

/** `ados learn promote`: starts the promotion of a shadow model; its gate is decided with `ados approve|reject <workflowId>`. */
export async function startStrategyPromotion(client: Client, config: AdosConfig, input: StrategyPromotion): Promise<{ workflowId: string }> {
  const workflowId = strategyPromotionWorkflowId(input.tenantId, input.modelVersion);
  await client.workflow.start<typeof strategyPromotion>('strategyPromotion', {
    args: [input],
    workflowId,
    taskQueue: controlTaskQueue(config.taskQueuePrefix),
    typedSearchAttributes: [
      { key: AdosTenant, value: input.tenantId },
      { key: AdosKind, value: 'learning' },
      { key: AdosStage, value: 'evaluating' },
      { key: AdosAwaitingApproval, value: false },
    ],
    staticSummary: `promote strategy model v${input.modelVersion} of ${input.tenantId}`,
  });
  return { workflowId };
}

/** `ados learn meta show`: the meta-policy's thresholds and each pattern's size (tenants, runs) and whether it is served. */
export function showMeta() {
  return withCliDatabase('ados learn meta show', async (db) => {
    const settings = await loadMetaSettings(db);
    const patterns = (await listMetaPatterns(db)).map((p) => ({ ...p, served: p.tenants >= settings.minTenants && p.runs >= settings.minRuns }));
    return { settings, patterns };
  });
}

/** `ados learn meta configure`: changes the given thresholds, keeps the others. */
export function configureMeta(patch: Partial<MetaSettings>): Promise<MetaSettings> {
  return withCliDatabase('ados learn meta configure', async (db) => {
    const parsed = metaSettingsSchema.safeParse({ ...(await loadMetaSettings(db)), ...patch });
    if (!parsed.success) throw new InputValidationError('meta-policy settings', issuesFromZod(parsed.error).map((i) => ({ ...i, path: META_FLAG_OF[i.path] ?? i.path })));
    await saveMetaSettings(db, parsed.data);
    return parsed.data;
  });
}

const META_FLAG_OF: Record<string, string> = { minTenants: '--min-tenants', minRuns: '--min-runs', maxPriorRuns: '--max-prior-runs' };
