import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import { z } from 'zod';
import type { CapabilityRequest } from '../../shared/contract/delivery/capability-io';
import { loadConfig } from '../../shared/node/config';
import { HostAllowlist } from '../../shared/node/http/allowed-hosts';
import { policyRefusal } from './capability';
import { defineBuiltIn, type CapabilityContext } from './define';

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
/** The largest body cap a task may ask for. */
const MAX_BODY_CAP = 1_048_576;
const HEARTBEAT_MS = 1_000;

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * The Idempotency-Key of a task's call: the same for every attempt of the task in that run and environment (so a
 * retry after a lost response is recognisable as the same request), different for another task, environment or run.
 */
export function idempotencyKey(request: Pick<CapabilityRequest, 'workflowId' | 'environment' | 'taskId'>): string {
  const digest = createHash('sha256').update(JSON.stringify([request.workflowId, request.environment, request.taskId])).digest('hex');
  return `ados-${digest.slice(0, 40)}`;
}

/** Statuses that say "try again later": another attempt may succeed. Any other unexpected status will not change. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

const status = z.number().int('a whole number').min(100, 'an HTTP status, 100 to 599').max(599, 'an HTTP status, 100 to 599');

export const httpInput = z
  .strictObject({
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
    url: z.url({ protocol: /^https?$/, error: 'an http:// or https:// URL' }),
    headers: z
      .record(z.string().regex(HEADER_NAME, 'an HTTP header name'), z.string())
      .default({})
      .refine(
        (headers) => !Object.keys(headers).some((name) => name.toLowerCase() === IDEMPOTENCY_HEADER.toLowerCase()),
        `ADOS sets ${IDEMPOTENCY_HEADER} itself (from the run, task and environment, stable across retries); leave it out`,
      ),
    /** A text body, sent as given. */
    body: z.string().optional(),
    /** A JSON body (sent with content-type application/json unless a header says otherwise). */
    json: z.unknown().optional(),
    /** The status (or statuses) that mean success; default any 2xx. */
    expectStatus: z.union([status, z.array(status).min(1, 'list at least one status')]).optional(),
    timeoutSeconds: z.number().positive('seconds, more than 0').max(110, 'at most 110 seconds (the attempt itself has 120)').default(30),
    /** Bytes of the response body kept in the output; the rest is not read. */
    maxBodyBytes: z.number().int('whole bytes').min(0).max(MAX_BODY_CAP, `at most ${MAX_BODY_CAP} bytes`).default(65_536),
  })
  .superRefine((input, ctx) => {
    if (input.body !== undefined && input.json !== undefined) ctx.addIssue({ code: 'custom', path: ['json'], message: 'give body or json, not both' });
    if ((input.body !== undefined || input.json !== undefined) && (input.method === 'GET' || input.method === 'HEAD')) {
      ctx.addIssue({ code: 'custom', path: ['method'], message: `${input.method} cannot carry a body; use POST, PUT or PATCH` });
    }
  });
export type HttpInput = z.output<typeof httpInput>;

export const httpOutput = z.object({
  status: z.number().int(),
  headers: z.record(z.string(), z.string()),
  /** The body as text, cut at maxBodyBytes. */
  body: z.string(),
  /** Bytes of the body read (at most maxBodyBytes). */
  bodyBytes: z.number().int(),
  truncated: z.boolean(),
  durationMs: z.number(),
  idempotencyKey: z.string(),
});

/** Whether `status` is what the task expects. */
export function statusExpected(status: number, expect: HttpInput['expectStatus']): boolean {
  if (expect === undefined) return status >= 200 && status < 300;
  return (Array.isArray(expect) ? expect : [expect]).includes(status);
}

/** Reads at most `cap` bytes of a body, then stops reading (the rest is never downloaded). */
async function readCapped(body: ReadableStream<Uint8Array> | null, cap: number): Promise<{ bytes: Buffer; truncated: boolean }> {
  if (!body) return { bytes: Buffer.alloc(0), truncated: false };
  const reader = body.getReader();
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { bytes: Buffer.concat(chunks), truncated: false };
    chunks.push(Buffer.from(value));
    size += value.byteLength;
    if (size > cap) {
      await reader.cancel();
      return { bytes: Buffer.concat(chunks).subarray(0, cap), truncated: true };
    }
  }
}

function failure(ctx: CapabilityContext, type: string, message: string, nonRetryable: boolean, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({ type, message: `task "${ctx.request.taskId}" (http): ${message}`, nonRetryable, details: details === undefined ? [] : [details] });
}

/** Calls an endpoint (README, "`exec` and `http`"). */
export const http = defineBuiltIn('http', {
  version: '1.0.0',
  input: httpInput,
  output: httpOutput,
  handler: async (input, ctx) => {
    const url = new URL(input.url);
    const allowed = loadConfig().httpAllowedHosts;
    if (!new HostAllowlist(allowed).allows(url.hostname)) {
      throw policyRefusal(
        'http',
        ctx.request.taskId,
        `input.url: host ${url.hostname} is not allowed by ADOS_HTTP_ALLOWED_HOSTS (${allowed.join(',')}); add it to that setting of the worker serving http`,
      );
    }
    const key = idempotencyKey(ctx.request);
    const headers = new Headers(input.headers);
    headers.set(IDEMPOTENCY_HEADER, key);
    if (input.json !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
    const body = input.json !== undefined ? JSON.stringify(input.json) : input.body;

    const started = performance.now();
    const heartbeat = setInterval(() => ctx.heartbeat(), HEARTBEAT_MS);
    try {
      // Redirects are returned, not followed: a redirect could lead to a host the allowlist refuses.
      const response = await fetch(url, {
        method: input.method,
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(input.timeoutSeconds * 1000)]),
      });
      const { bytes, truncated } = await readCapped(response.body, input.maxBodyBytes);
      const output = {
        status: response.status,
        headers: Object.fromEntries(response.headers),
        body: bytes.toString('utf8'),
        bodyBytes: bytes.length,
        truncated,
        durationMs: Math.round(performance.now() - started),
        idempotencyKey: key,
      };
      if (!statusExpected(response.status, input.expectStatus)) {
        const expected = input.expectStatus === undefined ? '2xx' : [input.expectStatus].flat().join(' or ');
        const excerpt = output.body.slice(0, 500);
        throw failure(ctx, 'UnexpectedStatus', `${input.method} ${url.href} answered ${response.status}, expected ${expected}${excerpt ? `: ${excerpt}` : ''}`, !retryableStatus(response.status), output);
      }
      return output;
    } catch (error) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (error instanceof ApplicationFailure) throw error;
      const cause = (error as Error).name === 'TimeoutError' ? `no answer within ${input.timeoutSeconds} s` : describeFetchError(error);
      throw failure(ctx, 'HttpRequestFailed', `${input.method} ${url.href}: ${cause}`, false);
    } finally {
      clearInterval(heartbeat);
    }
  },
});

/** fetch's "fetch failed" hides the reason in `cause` (ECONNREFUSED, ENOTFOUND, ...). */
function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ? `${cause.code} (${cause.message ?? ''})` : (error as Error).message;
}
