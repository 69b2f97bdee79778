import { z } from 'zod';
import { InputValidationError } from '../../shared/contract/validation';
import { loadConfig } from '../../shared/node/config';
import { processRuntime } from '../../shared/node/runtime';
import { invalidInput } from './capability';
import { defineBuiltIn } from './define';
import { LOOPBACK, serviceName } from './deploy-process';

/** Bytes of a response body read for substring and JSON checks. */
const MAX_BODY_BYTES = 1_048_576;

/** `a.b[0].c` → ['a', 'b', 0, 'c']; undefined for text that is not such a path. */
export function parseJsonPath(text: string): (string | number)[] | undefined {
  const parts: (string | number)[] = [];
  const pattern = /([A-Za-z_$][A-Za-z0-9_$-]*)|\[(\d+)\]|\.(?=[A-Za-z_$])/gy;
  let index = 0;
  while (index < text.length) {
    pattern.lastIndex = index;
    const match = pattern.exec(text);
    if (!match) return undefined;
    if (match[1] !== undefined) parts.push(match[1]);
    else if (match[2] !== undefined) parts.push(Number(match[2]));
    index = pattern.lastIndex;
  }
  return parts.length > 0 ? parts : undefined;
}

/** The value at `path` in `value`, or undefined. */
export function valueAt(value: unknown, path: readonly (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

const checkSchema = z
  .strictObject({
    /** Named in failure reasons; default `<method> <path>`. */
    name: z.string().min(1).optional(),
    path: z.string().startsWith('/', 'a path on the service, starting with "/", e.g. /health').default('/health'),
    method: z.enum(['GET', 'HEAD']).default('GET'),
    expectStatus: z.number().int().min(100).max(599).default(200),
    bodyContains: z.string().min(1).optional(),
    /** A value in the JSON body: `{ path: "status", equals: "ok" }`. */
    json: z
      .strictObject({
        path: z.string().refine((p) => parseJsonPath(p) !== undefined, 'a JSON path such as status or checks[0].name'),
        equals: z.unknown(),
      })
      .optional(),
    /** The most this check may take, response included. */
    maxLatencyMs: z.number().positive().optional(),
  });

export const verifyHttpInput = z.strictObject({
  /** The deployed service whose environment port is checked (its deploy.process `service`). */
  service: serviceName.optional(),
  /** Or an explicit loopback base URL, e.g. http://127.0.0.1:18081. */
  baseUrl: z.url('a URL such as http://127.0.0.1:18081').optional(),
  checks: z.array(checkSchema).min(1, 'list at least one check, e.g. [{ path: /health }]').default([{ path: '/health', method: 'GET', expectStatus: 200 }]),
  timeoutSeconds: z.number().positive().max(60).default(5),
}).superRefine((input, ctx) => {
  if (!input.service === !input.baseUrl) ctx.addIssue({ code: 'custom', path: ['service'], message: 'give service (a service deploy.process deployed here) or baseUrl, one of them' });
  if (input.baseUrl && !LOOPBACK.allows(new URL(input.baseUrl).hostname)) {
    ctx.addIssue({ code: 'custom', path: ['baseUrl'], message: `host "${new URL(input.baseUrl).hostname}" is not loopback: verify.http checks services on this machine (use the http capability for others)` });
  }
});

const checkResult = z.object({ name: z.string(), status: z.number().optional(), latencyMs: z.number(), ok: z.boolean(), problem: z.string().optional() });
export const verifyHttpOutput = z.object({ baseUrl: z.string(), release: z.string().optional(), checks: z.array(checkResult) });
type CheckResult = z.infer<typeof checkResult>;
type Check = z.output<typeof checkSchema>;

/** Runs one check; `problem` says which expectation failed. */
export async function runCheck(baseUrl: string, check: Check, timeoutMs: number): Promise<CheckResult> {
  const name = check.name ?? `${check.method} ${check.path}`;
  const started = performance.now();
  try {
    const response = await fetch(new URL(check.path, baseUrl), { method: check.method, signal: AbortSignal.timeout(timeoutMs), headers: { connection: 'close' } });
    const body = check.method === 'HEAD' ? '' : (await response.text()).slice(0, MAX_BODY_BYTES);
    const latencyMs = Math.round(performance.now() - started);
    const problems: string[] = [];
    if (response.status !== check.expectStatus) problems.push(`status ${response.status}, expected ${check.expectStatus}`);
    if (check.bodyContains !== undefined && !body.includes(check.bodyContains)) problems.push(`body does not contain ${JSON.stringify(check.bodyContains)}`);
    if (check.json) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        problems.push(`body is not JSON (json.path ${check.json.path} cannot be read)`);
      }
      if (parsed !== undefined) {
        const actual = valueAt(parsed, parseJsonPath(check.json.path) ?? []);
        if (JSON.stringify(actual) !== JSON.stringify(check.json.equals)) {
          problems.push(`json ${check.json.path} is ${actual === undefined ? 'missing' : JSON.stringify(actual)}, expected ${JSON.stringify(check.json.equals)}`);
        }
      }
    }
    if (check.maxLatencyMs !== undefined && latencyMs > check.maxLatencyMs) problems.push(`took ${latencyMs} ms, budget ${check.maxLatencyMs} ms`);
    return { name, status: response.status, latencyMs, ok: problems.length === 0, ...(problems.length > 0 ? { problem: problems.join('; ') } : {}) };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    return { name, latencyMs: Math.round(performance.now() - started), ok: false, problem: `no answer (${cause})` };
  }
}

/** Smoke checks against an environment's deployed service; every check runs, and the failure names each failed one. */
export const verifyHttp = defineBuiltIn('verify.http', {
  version: '1.0.0',
  input: verifyHttpInput,
  output: verifyHttpOutput,
  handler: async (input, ctx) => {
    const { request } = ctx;
    let baseUrl = input.baseUrl;
    let release: string | undefined;
    if (input.service) {
      try {
        const status = processRuntime(loadConfig()).status({ tenant: request.tenantId, service: input.service, environment: request.environment });
        baseUrl = status.url;
        release = status.current;
      } catch (error) {
        if (error instanceof InputValidationError) {
          throw invalidInput('verify.http', request.taskId, `input.service: ${error.issues.map((i) => i.message).join('; ')}; make this task depend on its deploy.process task`);
        }
        throw error;
      }
    }
    const checks: CheckResult[] = [];
    for (const check of input.checks) {
      ctx.heartbeat({ check: check.name ?? check.path });
      checks.push(await runCheck(baseUrl as string, check, input.timeoutSeconds * 1000));
    }
    const failed = checks.filter((c) => !c.ok);
    if (failed.length > 0) {
      // Retryable: a service may still be warming up; after the retries the run escalates with these reasons.
      throw new Error(`verify.http of ${baseUrl}: ${failed.length} of ${checks.length} check(s) failed: ${failed.map((c) => `check "${c.name}": ${c.problem}`).join('; ')}`);
    }
    return { baseUrl: baseUrl as string, ...(release ? { release } : {}), checks };
  },
});
