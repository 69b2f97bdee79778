/** The bundle-safe contract shared by client, workers and workflows. No Node modules here. */
export * from './approval';
export * from './capabilities';
export * from './duration';
export * from './graph';
export * from './routing';
export * from './search-attributes';
export * from './task-queues';
export * from './validation';
export * from './workflow-ids';
export * from './delivery';
export * from './extraction';
