export * from './input';
export * from './status';
export * from './capability-io';
export * from './escalation';
