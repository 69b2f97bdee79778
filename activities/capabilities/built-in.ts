import { analysis } from './analysis';
import { batch } from './batch';
import { build } from './build';
import type { CapabilityDefinition } from './define';
import { demoText, demoTextFallback } from './demo-text';
import { deploy } from './deploy';
import { deployKubernetes } from './deploy-kubernetes';
import { deployProcess } from './deploy-process';
import { exec } from './exec';
import { http } from './http';
import { noop } from './noop';
import { verify } from './verify';
import { verifyHttp } from './verify-http';

/**
 * The built-in capabilities declared with defineCapability (each in its own file here), served by a capability
 * worker through runCapability. Their routing specs are the entries of the same name in
 * shared/contract/capabilities.ts, which their `defaults` come from. `extract` lives with its kind
 * (activities/extraction/capability.ts), which this common folder may not import: activities/capability-activities.ts
 * adds it.
 */
export const BUILT_IN_DEFINITIONS: readonly CapabilityDefinition<any, any>[] = [
  build,
  deploy,
  verify,
  analysis,
  demoText,
  demoTextFallback,
  noop,
  batch,
  exec,
  http,
  deployProcess,
  verifyHttp,
  deployKubernetes,
];
