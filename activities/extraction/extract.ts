/**
 * The extract activity, served on the `extract` capability queue (`<prefix>.cap.extract`) by
 * `ados worker --capabilities extract`: one agent per call. It checks the cache first (another run
 * may have stored this exact key meanwhile), then generates and hashes the artifacts, writes them
 * (content-addressed), and commits the cache entry last. Idempotent on the cache key.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ArtifactRef, CacheKeyParts, ExtractAgentRequest, ExtractAgentResult } from '../../shared/contract/extraction/messages';
import type { AgentSchema } from '../../shared/contract/extraction/schema';
import type { Db } from '../../shared/node/db';
import type { Logger } from '../../shared/node/logger';
import { quietGate, type QuietGate } from '../../shared/node/quiet-gate';
import { entryOutput, type CacheEntryRow } from '../../shared/node/extraction/cache';
import { batchedCacheAccess, directCacheAccess, type ExtractionCacheAccess } from './cache-access';
import { generateArtifacts } from '../../shared/node/extraction/generators';
import { GENERATOR_VERSIONS, type GeneratorVersions } from '../../shared/node/extraction/generators/version';
import { artifactRefs, cacheKey, outputSha256, schemaSha256 } from '../../shared/node/extraction/hashing';
import { artifactBlobs } from '../../shared/node/extraction/store';

/** What the extract activity needs from the worker that hosts it. */
export interface ExtractionWorkerDeps {
  db: Db;
  logger: Logger;
  workerIdentity: string;
  /** The generators' versions; tests inject others to exercise invalidation. */
  versions?: GeneratorVersions;
  /** How the cache is read and written; a worker's activities share one batched access (see batchedCacheAccess). */
  cache?: ExtractionCacheAccess;
  /** Marks each extract start; work with slack waits for a burst of starts to pass (see BURST_QUIET_MS). */
  burst?: QuietGate;
}

export interface ExtractOneParams {
  tenantId: string;
  createdBy: string;
  agent: AgentSchema;
  schemaSha256: string;
  dependencies: Record<string, string>;
  simulatedWorkMs: number;
}

/** Heartbeats at least this often while simulated work sleeps. */
const HEARTBEAT_EVERY_MS = 1_000;

/**
 * A DAG layer's extract tasks reach a worker in bursts, one per workflow task of the run, a few milliseconds apart.
 * Bookkeeping the first of them started at once would compete for the CPU and the database with the dispatch of the
 * rest, and the layer's last start is what the next layer waits for. So an activity whose external step leaves it
 * slack starts its bookkeeping once the worker saw no new extract for this long (measured with
 * `npm run bench -- extraction-dag`: ADOS over the bare-Temporal floor fell from about 10 to 2–3 ms per layer).
 */
export const BURST_QUIET_MS = 10;
/** …but never later than this, nor than a quarter of the slack: a steady stream of starts must not starve anyone. */
export const BURST_MAX_WAIT_MS = 50;

/** Sleeps `ms` with heartbeats; `stop()` ends it early (a cache hit makes the work unnecessary). */
function simulateWork(ms: number): { done: Promise<void>; stop(): void } {
  const context = Context.current();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let wake: () => void = () => undefined;
  const done = (async () => {
    let left = ms;
    while (left > 0 && !stopped) {
      const step = Math.min(left, HEARTBEAT_EVERY_MS);
      await Promise.race([
        new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, step);
        }),
        context.cancelled,
      ]);
      left -= step;
      if (left > 0) context.heartbeat({ phase: 'simulated-work', leftMs: left });
    }
  })();
  // Cancellation may reject it before anyone awaits it (while the lookup runs): never an unhandled rejection.
  done.catch(() => undefined);
  return {
    done,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
      wake();
    },
  };
}

export async function extractOne(deps: ExtractionWorkerDeps, params: ExtractOneParams): Promise<Omit<ExtractAgentResult, 'worker' | 'attempt' | 'startedAt' | 'finishedAt'>> {
  const versions = deps.versions ?? GENERATOR_VERSIONS;
  // The simulated work stands for an extractor's slow external step (a model call, a compile): it starts first, and
  // the checks, the cache lookup, the (deterministic, CPU-only) generation and the artifact writes run while it
  // waits, once the burst of starts has passed. A hit or an error stops it. The cache entry, the commit point, is
  // written only once the work is done.
  const work = params.simulatedWorkMs > 0 ? simulateWork(params.simulatedWorkMs) : undefined;
  const cache = deps.cache ?? directCacheAccess(deps.db);
  let extracted: { key: string; hit: CacheEntryRow } | { key: string; parts: CacheKeyParts; refs: ArtifactRef[]; output: string };
  try {
    if (work && deps.burst) await deps.burst.quiet(Math.min(params.simulatedWorkMs / 4, BURST_MAX_WAIT_MS));
    const actualSha = schemaSha256(params.agent);
    if (actualSha !== params.schemaSha256) {
      throw ApplicationFailure.create({
        type: 'InvalidExtractionInput',
        message: `schemaSha256 ${params.schemaSha256} does not match the schema of ${params.agent.name} (${actualSha}): the caller hashed another document`,
        nonRetryable: true,
      });
    }
    const parts: CacheKeyParts = { schemaSha256: actualSha, ...versions, dependencies: sortedRecord(params.dependencies) };
    const key = cacheKey(parts);
    const hit = await cache.find(params.tenantId, key);
    if (hit) {
      extracted = { key, hit };
    } else {
      const artifacts = generateArtifacts(params.agent, actualSha, parts.dependencies, versions);
      const refs = artifactRefs(artifacts);
      await cache.storeArtifacts(artifactBlobs(artifacts, refs));
      extracted = { key, parts, refs, output: outputSha256(refs) };
    }
  } catch (error) {
    work?.stop();
    throw error;
  }
  if ('hit' in extracted) {
    work?.stop();
    const out = entryOutput(extracted.hit);
    return { cached: true, cacheKey: extracted.key, outputSha256: out.outputSha256, artifacts: out.artifacts };
  }
  const { key, parts, refs, output } = extracted;
  await work?.done;
  await cache.commit({ tenantId: params.tenantId, agent: params.agent.name, cacheKey: key, parts, outputSha256: output, refs, createdBy: params.createdBy });
  deps.logger.debug({ agent: params.agent.name, cacheKey: key, outputSha256: output }, 'agent extracted');
  return { cached: false, cacheKey: key, outputSha256: output, artifacts: refs };
}

const sortedRecord = (record: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.keys(record).sort().map((k) => [k, record[k]]));

export function createExtractionWorkerActivities(workerDeps: ExtractionWorkerDeps) {
  const deps: ExtractionWorkerDeps = {
    ...workerDeps,
    cache: workerDeps.cache ?? batchedCacheAccess(workerDeps.db),
    burst: workerDeps.burst ?? quietGate(BURST_QUIET_MS),
  };
  const versions = deps.versions ?? GENERATOR_VERSIONS;
  return {
    async extractAgent(request: ExtractAgentRequest): Promise<ExtractAgentResult> {
      const startedAt = new Date().toISOString();
      deps.burst?.arrived();
      const { attempt } = Context.current().info;
      if (request.extractorVersion !== versions.extractorVersion || request.glueVersion !== versions.glueVersion) {
        // Retryable: during a rolling deploy another worker of the pool may run the planned versions.
        throw new Error(
          `this worker generates with extractor ${versions.extractorVersion} / glue ${versions.glueVersion} but the run was planned with ${request.extractorVersion} / ${request.glueVersion}; run workers of one version on ados.cap.extract`,
        );
      }
      const result = await extractOne(deps, {
        tenantId: request.tenantId,
        createdBy: request.workflowId,
        agent: request.agent,
        schemaSha256: request.schemaSha256,
        dependencies: request.dependencies,
        simulatedWorkMs: request.simulatedWorkMs,
      });
      return { ...result, startedAt, finishedAt: new Date().toISOString(), worker: deps.workerIdentity, attempt };
    },
  };
}

export type ExtractionWorkerActivities = ReturnType<typeof createExtractionWorkerActivities>;
