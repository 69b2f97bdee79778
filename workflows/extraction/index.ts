import type { ExtractionInput, ExtractionResult } from '../../shared/contract/extraction/messages';

/**
 * `schemaExtraction`, whose module (and the extraction contract's schemas and migrations behind it) is evaluated only
 * when a run of it starts: the SDK evaluates a bundle's module scope for every workflow run, and a delivery run never
 * needs any of it. The workflow itself is workflows/extraction/schema-extraction.ts.
 */
export async function schemaExtraction(input: ExtractionInput): Promise<ExtractionResult> {
  const { schemaExtraction: run } = require('./schema-extraction') as typeof import('./schema-extraction');
  return run(input);
}
