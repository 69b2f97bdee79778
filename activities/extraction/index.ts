export { createExtractionControlActivities, type ExtractionControlActivities } from './control-activities';
export { createExtractionWorkerActivities, type ExtractionWorkerActivities, type ExtractionWorkerDeps } from './extract';
export { extract } from './capability';
export { planExtraction, findCacheEntry } from './cache';
export { loadArtifactContents } from './store';
export { generateArtifacts, EXTRACTOR_VERSION, GLUE_VERSION, GENERATOR_VERSIONS } from './generators';
