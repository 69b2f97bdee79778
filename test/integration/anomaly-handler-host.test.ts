/**
 * The handler host (shared/node/anomaly/pipeline/handler-service.ts) serving a release built the way the pipeline's
 * deploy builds it: the handler's schema from the template, extracted by the extractor's own generators, written as a
 * handler artifact. Each case starts the host as a real process on a real loopback port (the command the process
 * runtime runs) and checks that it serves through the extracted module: its identity is the module's, a request the
 * module's agent class refuses is refused, and a module that is missing or is another agent's stops the host before
 * it listens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultEnsembleConfig } from '../../shared/contract/anomaly/detection';
import type { MetricSample } from '../../shared/contract/anomaly/pipeline';
import { validateSchemaSet } from '../../shared/contract/extraction/validate';
import { handlerStartCommand, writeHandlerArtifact, type HandlerFile } from '../../shared/node/anomaly/pipeline/handler-artifact';
import { scoreSamples } from '../../shared/node/anomaly/pipeline/handler-service';
import { generateArtifacts } from '../../shared/node/extraction/generators';
import { pascalCase } from '../../shared/node/extraction/generators/context';
import { schemaSha256 } from '../../shared/node/extraction/hashing';
import { processAlive } from '../../shared/node/process/process-group';
import { freeLoopbackPort, waitUntil } from '../../shared/node/runtime/processes';
import { generateHandlerSchema } from '../../workflows/anomaly/handler-schema';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ados-handler-host-'));
const hosts: ChildProcess[] = [];

const handler = generateHandlerSchema({
  tenantId: 'acme',
  metric: 'ec2_cpu_utilization_825cc2',
  anomalyType: 'spike',
  affectedMetrics: [],
  firstObserved: '2014-04-10T07:15:00.000Z',
  severity: 'high',
  detection: { ...defaultEnsembleConfig(), threshold: 0.6 },
  anomaly: { start: '2014-04-10T07:15:00.000Z', end: '2014-04-10T09:00:00.000Z', peakTs: '2014-04-10T07:20:00.000Z', peakScore: 0.91, detectors: ['robustZ'] },
  approvers: ['alice'],
  approvalTimeout: '1h',
});
const agentSchema = validateSchemaSet([{ file: handler.file, document: handler.document }], { strict: true }).schemas[0].schema!;
const sha = schemaSha256(agentSchema);
const artifacts = generateArtifacts(agentSchema, sha, {});
const modulePath = artifacts.find((a) => a.kind === 'module')!.path;

/** A release directory as deployHandler writes it; `edit` changes the extracted module's text first. */
function release(name: string, edit: (module: string) => string | undefined = (m) => m): string {
  const dir = path.join(scratch, name);
  writeHandlerArtifact(dir, {
    name: handler.name,
    tenantId: 'acme',
    extractionWorkflowId: 'extraction-acme-handler-00000000',
    schema: handler.document,
    files: new Map(artifacts.map((a) => [a.path, a.content])),
    module: modulePath,
  });
  const file = path.join(dir, 'extracted', modulePath);
  const edited = edit(fs.readFileSync(file, 'utf8'));
  if (edited === undefined) fs.rmSync(file);
  else fs.writeFileSync(file, edited);
  return dir;
}

/** Starts the host in `dir` on a free port: healthy (its port and pid), or its exit code and stderr. */
async function startHost(dir: string): Promise<{ port: number; pid: number } | { exitCode: number; stderr: string }> {
  const port = await freeLoopbackPort();
  const [command, ...args] = handlerStartCommand();
  const child = spawn(command === 'node' ? process.execPath : command, args, { cwd: dir, env: { ...process.env, PORT: String(port), SERVICE_ENVIRONMENT: 'stage' }, stdio: ['ignore', 'ignore', 'pipe'] });
  hosts.push(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let gone = false;
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => ((gone = true), resolve(code ?? -1))));
  const healthy = (async () => {
    const up = await waitUntil(async () => gone || (await fetch(`http://127.0.0.1:${port}/health`, { headers: { connection: 'close' } }).catch(() => undefined))?.status === 200, 60_000, 100);
    return up && !gone ? { port, pid: child.pid! } : undefined;
  })();
  const first = await Promise.race([healthy, exited.then((exitCode) => ({ exitCode }))]);
  if (first && 'exitCode' in first) return { exitCode: first.exitCode, stderr };
  if (!first && gone) return { exitCode: await exited, stderr };
  if (!first) throw new Error(`the host in ${dir} neither became healthy nor exited within 60 s: ${stderr}`);
  return first;
}

const samples: MetricSample[] = Array.from({ length: 400 }, (_, i) => ({ ts: new Date(Date.UTC(2014, 3, 10) + i * 300_000).toISOString(), value: i === 350 ? 400 : 50 + ((i * 7) % 5) }));

async function post(port: number, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${port}/score`, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

afterAll(async () => {
  for (const host of hosts) if (host.exitCode === null) host.kill('SIGTERM');
  for (const host of hosts) await waitUntil(() => !processAlive(host.pid!), 10_000, 50);
  for (const host of hosts) expect({ pid: host.pid, alive: processAlive(host.pid!) }).toEqual({ pid: host.pid, alive: false });
  fs.rmSync(scratch, { recursive: true, force: true });
}, 30_000);

describe('the handler host', () => {
  it('serves through the extracted module: its identity is the module\'s, and it scores what the schema configures', async () => {
    const host = await startHost(release('as-extracted'));
    if (!('port' in host)) throw new Error(`the host exited ${host.exitCode}: ${host.stderr}`);
    expect(processAlive(host.pid)).toBe(true);
    const about = (await (await fetch(`http://127.0.0.1:${host.port}/`, { headers: { connection: 'close' } })).json()) as Record<string, unknown>;
    expect(about).toMatchObject({
      pid: host.pid,
      name: handler.name,
      environment: 'stage',
      generated: { module: `extracted/${modulePath}`, agent: `${pascalCase(handler.name)}Agent`, schemaSha256: sha, timeoutMs: 30_000 },
    });
    const scored = await post(host.port, { samples });
    const file = JSON.parse(fs.readFileSync(path.join(scratch, 'as-extracted', 'handler.json'), 'utf8')) as HandlerFile;
    expect(scored).toEqual({ status: 200, body: { ...scoreSamples(file, samples) } });
    expect(scored.body.flagged).toContain(samples[350].ts);
  });

  it('refuses a request the module\'s agent class refuses (the module is in every request\'s path)', async () => {
    // The generated input check, edited to refuse everything: the host answers with the module's own words.
    const host = await startHost(release('refusing', (module) => module.replace('return errors.length === 0 ? { ok: true } : { ok: false, errors };', "return { ok: false, errors: ['batch: refused by the edited module'] };")));
    if (!('port' in host)) throw new Error(`the host exited ${host.exitCode}: ${host.stderr}`);
    const refused = await post(host.port, { samples });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe(`${handler.name}: invalid input: batch: refused by the edited module`);
    // The host's own check still comes first for what is not samples at all.
    expect((await post(host.port, { samples: 'none' })).status).toBe(400);
  });

  it('does not start without the extracted module, or with another agent\'s', async () => {
    const missing = await startHost(release('no-module', () => undefined));
    expect(missing).toMatchObject({ exitCode: 1 });
    expect((missing as { stderr: string }).stderr).toContain('the extracted module is missing from the release; extract the handler again');
    const other = await startHost(release('other-agent', (module) => module.replace(`name: ${JSON.stringify(handler.name)},`, 'name: "Someone_Else_Handler_v1",')));
    expect(other).toMatchObject({ exitCode: 1 });
    expect((other as { stderr: string }).stderr).toContain(`is the module of Someone_Else_Handler_v1, not of ${handler.name}`);
  });
});
