import { validateDeliveryRunInput } from '../shared/contract/delivery/input';
import { benchDag } from './suites/routing-overhead';
const tasks = benchDag().map((t) => ({ ...t, capability: 'noop', input: {} }));
const input = { tenantId: 'bench', runId: 'r', requestedBy: 'bench', goal: { type: 'build', complexity: 'low', risk: 'low', maxCost: 0 }, environments: ['dev'], maxParallel: 10, plan: { tasks } };
for (let i = 0; i < 5; i++) { const t = performance.now(); const r = validateDeliveryRunInput(input as any); console.log((performance.now() - t).toFixed(2), r.ok); }
