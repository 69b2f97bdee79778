export * from './canonical';
export * from './messages';
export * from './migrations';
export * from './schema';
export * from './semver';
export * from './validate';
export * from './diff';
