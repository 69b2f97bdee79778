export { deliveryRun } from './delivery-run';
