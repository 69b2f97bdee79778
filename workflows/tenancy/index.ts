export { tenantGate } from './tenant-gate';
