export { remediationRun } from './remediation-run';
