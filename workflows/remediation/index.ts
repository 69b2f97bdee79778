export { healthWatch } from './health-watch';
export { remediationRun } from './remediation-run';
