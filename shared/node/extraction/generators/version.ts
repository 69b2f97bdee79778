/**
 * Versions of the generators, part of every cache key (stored as separate key parts, so `--plan`
 * can say which one changed). Bump EXTRACTOR_VERSION when the extraction logic changes what it
 * produces, GLUE_VERSION when a template (the "glue" text around the schema's values) changes.
 */
export const EXTRACTOR_VERSION = '1.0.0';
// 1.1.0: manifests written by generators/yaml-emitter.ts (some strings quoted differently than by the yaml package).
export const GLUE_VERSION = '1.1.0';

export interface GeneratorVersions {
  extractorVersion: string;
  glueVersion: string;
}

export const GENERATOR_VERSIONS: GeneratorVersions = { extractorVersion: EXTRACTOR_VERSION, glueVersion: GLUE_VERSION };
