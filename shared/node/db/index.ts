export * from './connect';
export * from './embedded';
export * from './migrate';
export type { Database } from './schema';
