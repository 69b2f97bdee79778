export * from './input';
export * from './status';
export * from './capability-io';
