/**
 * The Temporal Web UI tells each run's story, checked in a real browser: Debian's chromium (`node deploy/bootstrap.mjs
 * --browser` installs it) driven by playwright-core, on the embedded stack (the pinned dev server with its Web UI, the
 * ADOS workers in this process, PGlite). A delivery run waits for approval: its page shows the run, its summary, its
 * tasks and the awaiting-approval state; `ados approve` approves it; after a reload the signal and the completion
 * show. Then one extraction run and one task runtime. Screenshots go to test/artifacts/web-ui/ (git-ignored).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startExtraction } from '../../client/extraction';
import { prepareTaskRuntime, startTaskRuntime } from '../../client/task-runtime';
import { readRegistrations } from '../../client/capabilities';
import { seedDocuments } from '../helpers/extraction';
import { cleanEnv, runAdosCli } from '../helpers/processes';
import { bundleWorkflows, installQuietRuntime, startStack, type AdosStack } from '../helpers/stack';
import { freePort } from '../helpers/temporal-server';
import { createDevServerEnv, PROJECT_ROOT } from '../helpers/toolchain';

const CHROMIUM = '/usr/bin/chromium';
/** The flags of ../shared/NOTES.md: headless, no sandbox (root), and nothing that phones home or syncs. */
const CHROMIUM_FLAGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
/** The history event of the approval, as the page lists it. */
const APPROVE_SIGNAL = /Workflow Execution Signaled\s+Signal Name\s+approve\b/;
const ARTIFACTS = path.join(PROJECT_ROOT, 'test', 'artifacts', 'web-ui');

const suffix = Math.random().toString(36).slice(2, 8);
const TENANT = `ui_${suffix}`;

let env: TestWorkflowEnvironment;
let stack: AdosStack;
let webUi: string;
let userDataDir: string;
let browser: BrowserContext;
let page: Page;
const timings: Record<string, number> = {};

const workflowPage = (workflowId: string) => `${webUi}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`;

async function screenshot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/**
 * Waits until the page's text contains every one of `texts` (the UI loads its data after the page), reloading now and
 * then. The text seen last goes to test/artifacts/web-ui/<name>.txt (with a screenshot on a timeout).
 */
async function waitForTexts(name: string, texts: string[], timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  // A running workflow's page keeps polling, so no network-idle wait; on a busy machine the app takes seconds to load.
  let reloadAt = Date.now() + 20_000;
  let body = '';
  for (;;) {
    body = await page.locator('body').innerText();
    if (texts.every((text) => body.includes(text))) {
      fs.writeFileSync(path.join(ARTIFACTS, `${name}.txt`), body);
      return body;
    }
    if (Date.now() > deadline) {
      fs.writeFileSync(path.join(ARTIFACTS, `${name}.txt`), body);
      await screenshot(`${name}-timed-out`);
      throw new Error(`${page.url()} did not show ${texts.filter((t) => !body.includes(t)).map((t) => JSON.stringify(t)).join(', ')} within ${timeoutMs} ms (its text: test/artifacts/web-ui/${name}.txt)`);
    }
    if (Date.now() > reloadAt) {
      await page.reload({ waitUntil: 'load' });
      reloadAt = Date.now() + 20_000;
    }
    await page.waitForTimeout(250);
  }
}

async function openUntil(name: string, url: string, texts: string[]): Promise<string> {
  await page.goto(url, { waitUntil: 'load' });
  return waitForTexts(name, texts);
}

/** Clicks one of the workflow page's tabs (History, Search Attributes, ...) and waits for `texts` in it. */
async function openTab(name: string, label: string, texts: string[]): Promise<string> {
  await page.getByText(label, { exact: true }).first().click();
  return waitForTexts(name, texts, 20_000);
}

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run \`node deploy/bootstrap.mjs --browser\` (installs Debian's chromium)`);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const started = Date.now();
  installQuietRuntime();
  const uiPort = await freePort();
  const [workflowBundle, devEnv] = await Promise.all([bundleWorkflows(), createDevServerEnv({ server: { ui: true, uiPort } })]);
  env = devEnv;
  webUi = `http://127.0.0.1:${uiPort}`;
  stack = await startStack({ env, workflowBundle });
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ados-chromium-'));
  // headless: false because --headless=new is among the flags: playwright-core adds none of its own.
  browser = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: false, args: CHROMIUM_FLAGS, viewport: { width: 1400, height: 1000 } });
  page = browser.pages()[0] ?? (await browser.newPage());
  timings.setup = Date.now() - started;
}, 240_000);

afterAll(async () => {
  await browser?.close();
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  await stack?.shutdown();
  await env?.teardown();
  process.stdout.write(`[web-ui] timings (ms): ${JSON.stringify(timings)}\n`);
}, 60_000);

test('a delivery run: summary, tasks and awaiting approval; approved with the CLI; the signal and the completion after a reload', async () => {
  const { workflowId } = await stack.startRun({
    tenantId: TENANT,
    runId: `ui-${suffix}`,
    requestedBy: 'carol',
    goal: { type: 'build', complexity: 'low', risk: 'low', maxCost: 1 },
    environments: ['dev', 'prod'],
    approval: { approvers: ['alice'], quorum: 1, timeout: '1h' },
    plan: { tasks: [{ id: 'report', capability: 'analysis', input: { series: [1, 2, 3] } }] },
  });
  await stack.waitForStatus(workflowId, (s) => s.stage === 'awaiting_approval', 60_000);

  const summary = `${TENANT}: 1 task through dev → prod, approval by 1 of alice before prod`;
  const waiting = await openUntil('delivery-awaiting-approval', workflowPage(workflowId), [workflowId, 'Running', 'deliveryRun', summary, 'report: analysis on dev']);
  expect(waiting).not.toMatch(APPROVE_SIGNAL);
  await screenshot('delivery-awaiting-approval');
  const attributes = await openTab('delivery-search-attributes', 'Search Attributes', ['AdosAwaitingApproval', 'awaiting_approval']);
  expect(attributes).toMatch(/"AdosAwaitingApproval": true/);
  expect(attributes).toMatch(/"AdosStage": "awaiting_approval"/);
  await screenshot('delivery-search-attributes');
  // The saved filter for "pending approvals of a tenant" (README, "Observe") lists the run.
  const query = encodeURIComponent(`AdosAwaitingApproval = true AND AdosTenant = '${TENANT}' AND ExecutionStatus = 'Running'`);
  await openUntil('delivery-pending-filter', `${webUi}/namespaces/default/workflows?query=${query}`, [workflowId]);
  await screenshot('delivery-pending-approvals-filter');

  // --signal: the approval arrives as the `approve` signal, an event of its own in the history.
  const cli = await runAdosCli(['approve', workflowId, '--as', 'alice', '--comment', 'ship it', '--tenant', TENANT, '--signal'], cleanEnv({ TEMPORAL_ADDRESS: env.address, ADOS_TASK_QUEUE_PREFIX: stack.taskQueuePrefix }));
  if (cli.code !== 0) throw new Error(`ados approve exited ${cli.code}: ${cli.stderr}`);
  await stack.result(workflowId);

  const done = await openUntil('delivery-completed', workflowPage(workflowId), [workflowId, 'Completed', 'report: analysis on prod', 'Workflow Execution Signaled']);
  expect(done).toMatch(APPROVE_SIGNAL);
  await screenshot('delivery-completed');
  const closed = await openTab('delivery-search-attributes-closed', 'Search Attributes', ['AdosAwaitingApproval', 'finished']);
  expect(closed).toMatch(/"AdosAwaitingApproval": false/);
}, 150_000);

test('an extraction run and a task runtime show their summaries and completion', async () => {
  const extraction = await startExtraction(stack.client, stack.config, {
    tenantId: TENANT,
    setName: 'seed',
    requestedBy: 'carol',
    documents: seedDocuments(),
  });
  await stack.client.workflow.getHandle(extraction.workflowId).result();
  await openUntil('extraction-completed', workflowPage(extraction.workflowId), [extraction.workflowId, 'Completed', `${TENANT}: extract 5 agent schemas of set seed`, 'extract Main']);
  await screenshot('extraction-completed');

  const runtimeInput = prepareTaskRuntime(
    { tenantId: TENANT, taskId: `ui-${suffix}`, source: { kind: 'generator', items: 20 }, capability: 'batch', batchSize: 10, requestedBy: 'carol' },
    await readRegistrations(stack.config),
  );
  const runtime = await startTaskRuntime(stack.client, stack.config, runtimeInput);
  await stack.client.workflow.getHandle(runtime.workflowId).result();
  await openUntil('task-runtime-completed', workflowPage(runtime.workflowId), [runtime.workflowId, 'Completed', 'taskRuntime']);
  await screenshot('task-runtime-completed');
}, 150_000);
