export { schemaExtraction } from './schema-extraction';
