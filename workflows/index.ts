/** The workflow bundle's entry: every workflow type a worker serves. */
export * from './delivery';
export * from './extraction';
