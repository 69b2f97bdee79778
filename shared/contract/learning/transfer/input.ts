/**
 * The input of a transfer-learning cycle (`transferLearningCycle`, ID `learning-transfer-<scheduled time>`): which
 * pairs of domains to try, each a source → target with a pattern (what is moved) and a method (how the target is
 * retrained with it). Validated where the schedule is created and by the workflow at entry, with the same schema and
 * messages. Bundle-safe.
 */
import { z } from 'zod';
import { tenantIdSchema } from '../../tenancy/profile';
import { didYouMean, issuesFromZod, type Validated } from '../../validation';

/**
 * The domains ADOS knows, by name (shared/node/learning/transfer/catalog.ts builds them): a seeded synthetic base
 * domain, three synthetic targets (related, unrelated, opposed to it), and two groups of NAB's AWS CloudWatch series.
 */
export const TRANSFER_DOMAINS = ['synthetic-base', 'synthetic-related', 'synthetic-unrelated', 'synthetic-opposed', 'nab-ec2-cpu', 'nab-other-aws'] as const;
export type TransferDomainName = (typeof TRANSFER_DOMAINS)[number];

/** What is moved: the source model's weights, only its top-k weights, or the PCA basis of the source's features. */
export const TRANSFER_PATTERNS = ['weights', 'top-k', 'pca'] as const;
export type TransferPattern = (typeof TRANSFER_PATTERNS)[number];

/**
 * How the target is retrained with it: from the moved weights (warm start), pulled towards them (prior: L2 towards the
 * moved weights instead of zero), or, for a PCA basis, over the target's features projected onto it (projection).
 */
export const TRANSFER_METHODS = ['warm-start', 'prior', 'projection'] as const;
export type TransferMethod = (typeof TRANSFER_METHODS)[number];

const domainName = z.string().refine((name): name is TransferDomainName => (TRANSFER_DOMAINS as readonly string[]).includes(name), {
  error: (issue) => `unknown domain "${String(issue.input)}"${didYouMean(String(issue.input), TRANSFER_DOMAINS)}: one of ${TRANSFER_DOMAINS.join(', ')}`,
});

/** One configured transfer: source → target, pattern, method. */
export const transferPairSchema = z
  .object({
    source: domainName,
    target: domainName,
    pattern: z.enum(TRANSFER_PATTERNS, `must be one of ${TRANSFER_PATTERNS.join(', ')}`),
    method: z.enum(TRANSFER_METHODS, `must be one of ${TRANSFER_METHODS.join(', ')}`),
    /** top-k: how many of the source's largest weights move. */
    topK: z.number().int('must be a whole number').min(1, 'must be at least 1').max(64, 'at most 64').default(4),
    /** pca: how many components of the basis move. */
    components: z.number().int('must be a whole number').min(1, 'must be at least 1').max(16, 'at most 16').default(3),
    /** Target feature name → source feature name, for features named differently in the two domains (same name: mapped as is). */
    featureMap: z.record(z.string().min(1), z.string().min(1)).default({}),
  })
  .strict()
  .superRefine((pair, ctx) => {
    if (pair.source === pair.target) ctx.addIssue({ code: 'custom', path: ['target'], message: `must differ from source (${pair.source}): a domain does not transfer to itself` });
    if ((pair.pattern === 'pca') !== (pair.method === 'projection')) {
      ctx.addIssue({
        code: 'custom',
        path: ['method'],
        message: pair.pattern === 'pca' ? 'must be projection for pattern pca (a basis is not a set of weights to start from or pull towards)' : `must be warm-start or prior for pattern ${pair.pattern} (projection moves a PCA basis)`,
      });
    }
  });
export type TransferPairRequest = z.input<typeof transferPairSchema>;
export type TransferPair = z.output<typeof transferPairSchema>;

/** The cycle's input: the pairs, and the tenant its audit entries and search attribute belong to. */
export const transferCycleInputSchema = z
  .object({
    tenantId: tenantIdSchema.default('ados'),
    pairs: z.array(transferPairSchema).min(1, 'must list at least one pair'),
    /** Who configured the cycle (the schedule's creator), for the audit. */
    requestedBy: z.string().min(1).default('schedule'),
  })
  .strict()
  .superRefine((input, ctx) => {
    const seen = new Set<string>();
    input.pairs.forEach((pair, index) => {
      const key = transferPairKey(pair);
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['pairs', index], message: `repeats ${key}: list each pair once` });
      seen.add(key);
    });
  });
export type TransferCycleRequest = z.input<typeof transferCycleInputSchema>;
export type TransferCycleInput = z.output<typeof transferCycleInputSchema>;

/** `source→target/pattern/method`: a pair's name in figures, audit keys and messages. */
export function transferPairKey(pair: Pick<TransferPair, 'source' | 'target' | 'pattern' | 'method'>): string {
  return `${pair.source}→${pair.target}/${pair.pattern}/${pair.method}`;
}

export function validateTransferCycleInput(raw: unknown): Validated<TransferCycleInput> {
  const parsed = transferCycleInputSchema.safeParse(raw);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, issues: issuesFromZod(parsed.error) };
}

/** The synthetic targets name two of the base's features differently (shared/node/learning/transfer/synthetic.ts). */
export const SYNTHETIC_FEATURE_MAP: Readonly<Record<string, string>> = { renamed_f0: 'f0', renamed_f1: 'f1' };

/** The pairs a schedule runs when its configuration names none: promote, keep/revert and the real-data pair. */
export const DEFAULT_TRANSFER_PAIRS: TransferPairRequest[] = [
  { source: 'synthetic-base', target: 'synthetic-related', pattern: 'weights', method: 'prior', featureMap: { ...SYNTHETIC_FEATURE_MAP } },
  { source: 'synthetic-base', target: 'synthetic-unrelated', pattern: 'weights', method: 'prior', featureMap: { ...SYNTHETIC_FEATURE_MAP } },
  { source: 'synthetic-base', target: 'synthetic-opposed', pattern: 'weights', method: 'warm-start', featureMap: { ...SYNTHETIC_FEATURE_MAP } },
  { source: 'nab-ec2-cpu', target: 'nab-other-aws', pattern: 'weights', method: 'prior' },
];
