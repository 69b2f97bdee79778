/**
 * The Temporal Web UI tells each run's story, checked in a real browser: Debian's chromium (`node deploy/bootstrap.mjs
 * --browser` installs it) driven by playwright-core, on the embedded stack (the pinned dev server with its Web UI, the
 * ADOS workers in this process, PGlite). A delivery run waits for approval: its page shows the run, its summary, its
 * tasks and the awaiting-approval state; `ados approve` approves it; after a reload the signal and the completion
 * show. Then one extraction run and one task runtime; then the newer kinds, each found in the list by its search
 * attributes and told by its page: an anomaly monitor watching a NAB series (its current details), a strategy
 * promotion and a prod remediation waiting at their approval gates, both rejected. Screenshots go to
 * test/artifacts/web-ui/ (git-ignored).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { decide } from '../../client/common/approval';
import { startExtraction } from '../../client/extraction';
import { startStrategyPromotion, validatePromotion } from '../../client/learning/strategy';
import { getMonitorStatus, prepareAnomalyMonitor, startAnomalyMonitor, stopAnomalyMonitor } from '../../client/metrics';
import { getRemediationResult, getRemediationStatus, openIncident } from '../../client/remediation';
import { prepareTaskRuntime, startTaskRuntime } from '../../client/task-runtime';
import { readRegistrations } from '../../client/capabilities';
import { strategyPromotionStatusQuery, type StrategyPromotionResult } from '../../shared/contract/learning/strategy/promotion';
import { AdosAwaitingApproval, AdosStage } from '../../shared/contract/search-attributes';
import { ingestCsv } from '../../shared/node/anomaly/samples';
import { loadNabDataDir } from '../../shared/node/config';
import { eventually } from '../helpers/eventually';
import { seedDocuments } from '../helpers/extraction';
import { cleanEnv, runAdosCli } from '../helpers/processes';
import { bundleWorkflows, installQuietRuntime, startStack, type AdosStack } from '../helpers/stack';
import { freePort } from '../helpers/temporal-server';
import { createDevServerEnv, PROJECT_ROOT } from '../helpers/toolchain';
import { promotionInput, seedTrainedTenant } from '../replay/learning-strategy-scenarios';

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
/** A run's User Metadata tab, opened directly (one page load instead of the history's and then a click). */
const userMetadataPage = (workflowId: string, runId: string) => `${workflowPage(workflowId)}/${runId}/user-metadata`;

async function screenshot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** The page's text with its frames' (the UI renders summaries, details and current details in iframes of their own). */
async function pageText(): Promise<string> {
  const frames = page.frames().filter((frame) => frame !== page.mainFrame());
  const texts = await Promise.all([page.locator('body').innerText(), ...frames.map((frame) => frame.locator('body').innerText({ timeout: 1_000 }).catch(() => ''))]);
  return texts.join('\n');
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
    body = await pageText();
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

test('an anomaly monitor, a strategy promotion and a prod remediation: listed by kind, each page telling its story, the gates rejected', async () => {
  let mark = Date.now();
  const step = (name: string) => {
    timings[`newer kinds: ${name}`] = Date.now() - mark;
    mark = Date.now();
  };
  const metric = 'art_daily_jumpsup';
  // Started side by side, each the cheapest way its integration test does: no process runtime, no handler pipeline.
  const [monitor, promotion, incident] = await Promise.all([
    (async () => {
      await ingestCsv(stack.db, { tenantId: TENANT, metric }, path.join(loadNabDataDir(), 'data', 'artificialWithAnomaly', `${metric}.csv`));
      // The first interval scores the first 1000 samples; the next is a minute away, so the page holds still meanwhile.
      return startAnomalyMonitor(stack.client, stack.config, prepareAnomalyMonitor({ tenantId: TENANT, metric, interval: '1m', batchLimit: 1000, requestedBy: 'carol' }));
    })(),
    (async () => {
      const version = await seedTrainedTenant(stack, TENANT);
      const { workflowId } = await startStrategyPromotion(stack.client, stack.config, validatePromotion(promotionInput(TENANT, version)));
      return { version, workflowId, runId: (await stack.client.workflow.getHandle(workflowId).describe()).runId };
    })(),
    openIncident(stack.client, stack.config, {
      tenantId: TENANT,
      service: 'api',
      environment: 'prod',
      kind: 'crash',
      confidence: 0.9,
      requestedBy: 'ops',
      evidence: ['health check failed'],
      approval: { approvers: ['alice'] },
    }),
  ]);
  await Promise.all([
    eventually('the monitor watching, its first interval scored', 30_000, async () => {
      const { status } = await getMonitorStatus(stack.client, monitor.workflowId);
      return status?.stage === 'watching' && status.samplesScored === 1000 ? true : undefined;
    }, 200),
    eventually('the promotion at its gate', 30_000, async () => ((await stack.client.workflow.getHandle(promotion.workflowId).query(strategyPromotionStatusQuery)).stage === 'awaiting_approval' ? true : undefined)),
    eventually('the remediation at its gate', 30_000, async () => ((await getRemediationStatus(stack.client, incident.workflowId)).stage === 'awaiting_approval' ? true : undefined)),
  ]);
  step('started and waiting');

  // The three kinds in one list, found by their search attributes.
  const kinds = encodeURIComponent(`AdosTenant = '${TENANT}' AND AdosKind IN ('anomaly-monitor', 'learning', 'remediation')`);
  await openUntil('newer-kinds-list', `${webUi}/namespaces/default/workflows?query=${kinds}`, [monitor.workflowId, 'anomalyMonitor', promotion.workflowId, 'strategyPromotion', incident.workflowId, 'remediationRun']);
  await screenshot('newer-kinds-list');
  step('list');

  // Each page: the summary and details (User Metadata; the monitor's current details too), the stage (Search Attributes).
  const monitorMetadata = await openUntil('anomaly-user-metadata', userMetadataPage(monitor.workflowId, monitor.runId), [
    monitor.workflowId,
    'Running',
    'anomalyMonitor',
    `${TENANT}: watch ${metric} (its ingested samples) every 1m`,
    'Requested by carol.',
    ' · 1,000 samples to ',
    `score ${metric} after the first sample`,
  ]);
  // The current details: the status line of the monitor's latest interval, back to `watching` while it waits for
  // the next one, and that wait's timer with its summary.
  expect(monitorMetadata).toMatch(/watching · 1,000 samples to \S+ · threshold [\d.]+ · .+ · run #0/);
  expect(monitorMetadata).toContain('next interval (1m)');
  await screenshot('anomaly-user-metadata');
  const monitorAttributes = await openTab('anomaly-search-attributes', 'Search Attributes', ['AdosKind', 'anomaly-monitor']);
  expect(monitorAttributes).toMatch(/"AdosStage": "watching"/);
  step('monitor page');

  await openUntil('learning-awaiting-approval', userMetadataPage(promotion.workflowId, promotion.runId), [promotion.workflowId, 'Running', 'strategyPromotion', `promote strategy model v${promotion.version} of ${TENANT}`]);
  await screenshot('learning-awaiting-approval');
  const learningAttributes = await openTab('learning-search-attributes', 'Search Attributes', ['AdosKind', 'learning']);
  expect(learningAttributes).toMatch(/"AdosStage": "awaiting_approval"/);
  expect(learningAttributes).toMatch(/"AdosAwaitingApproval": true/);
  step('promotion page');

  await openUntil('remediation-awaiting-approval', userMetadataPage(incident.workflowId, incident.runId), [
    incident.workflowId,
    'Running',
    'remediationRun',
    `${TENANT}: crash of api in prod (confidence 0.9) → restart`,
    'Opened by ops',
    'health check failed',
  ]);
  await screenshot('remediation-awaiting-approval');
  const remediationAttributes = await openTab('remediation-search-attributes', 'Search Attributes', ['AdosKind', 'remediation']);
  expect(remediationAttributes).toMatch(/"AdosStage": "awaiting_approval"/);
  expect(remediationAttributes).toMatch(/"AdosAwaitingApproval": true/);
  step('remediation page');

  const [promotionResult, remediationResult] = await Promise.all([
    decide(stack.client, promotion.workflowId, { decision: 'reject', approver: 'alice', comment: 'not this week' }).then(() => stack.client.workflow.getHandle(promotion.workflowId).result() as Promise<StrategyPromotionResult>),
    decide(stack.client, incident.workflowId, { decision: 'reject', approver: 'alice', comment: 'not during the sale' }).then(() => getRemediationResult(stack.client, incident.workflowId)),
    stopAnomalyMonitor(stack.client, monitor.workflowId, 'carol'),
  ]);
  expect(promotionResult.outcome).toBe('rejected');
  expect(remediationResult).toMatchObject({ outcome: 'rejected', performed: 'noop', reason: 'rejected by alice' });
  expect(await stack.client.workflow.getHandle(monitor.workflowId).result()).toMatchObject({ outcome: 'stopped', samplesScored: 1000 });
  step('decided');

  // After the rejection: the update in the remediation's history, the run completed, the stage finished and no
  // approval pending (the promotion's gate is the same code: its closed attributes are read from visibility).
  await openUntil('remediation-rejected', workflowPage(incident.workflowId), [incident.workflowId, 'Completed', 'Workflow Execution Update Accepted']);
  const closed = await openTab('remediation-search-attributes-closed', 'Search Attributes', ['AdosStage', 'finished']);
  expect(closed).toMatch(/"AdosAwaitingApproval": false/);
  await screenshot('remediation-rejected');
  const promotionClosed = await stack.client.workflow.getHandle(promotion.workflowId).describe();
  expect({ stage: promotionClosed.typedSearchAttributes.get(AdosStage), awaiting: promotionClosed.typedSearchAttributes.get(AdosAwaitingApproval) }).toEqual({ stage: 'finished', awaiting: false });
  step('closed page');
}, 150_000);
