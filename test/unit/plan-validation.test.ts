import { join } from 'node:path';
import { readInputFile } from '../../client/plan-file';
import { KNOWN_CAPABILITIES } from '../../shared/contract/capabilities';
import { DEFAULT_MAX_PARALLEL, validateDeliveryRunInput } from '../../shared/contract/delivery/input';
import { listNames, type ValidationIssue, type Validated } from '../../shared/contract/validation';

/** A plan that passes: build → deploy → verify, plus an independent analysis, going to prod with one approver. */
function validPlan(): Record<string, any> {
  return {
    tenantId: 'acme',
    runId: '20261122-ab12',
    requestedBy: 'carol',
    goal: { type: 'deploy', complexity: 'medium', risk: 'medium', maxCost: 100 },
    approval: { approvers: ['alice', 'bob'] },
    plan: {
      tasks: [
        { id: 'build-api', capability: 'build', input: { name: 'api' } },
        { id: 'deploy-api', capability: 'deploy', dependsOn: ['build-api'] },
        { id: 'verify-api', capability: 'verify', dependsOn: ['deploy-api'] },
        { id: 'latency', capability: 'analysis', input: { series: [1, 2, 3] } },
      ],
    },
  };
}

function issuesOf<T>(result: Validated<T>): ValidationIssue[] {
  if (result.ok) throw new Error('expected the input to be refused, but it passed');
  return result.issues;
}

/** The single issue at `path`; fails when there is none or more than one. */
function issueAt<T>(result: Validated<T>, path: string): ValidationIssue {
  const issues = issuesOf(result);
  const matching = issues.filter((issue) => issue.path === path);
  if (matching.length !== 1) {
    throw new Error(`expected exactly one issue at ${path}, got: ${JSON.stringify(issues, null, 2)}`);
  }
  return matching[0];
}

function tasks(...list: { id: string; capability?: string; dependsOn?: string[] }[]) {
  return list.map((task) => ({ capability: 'build', ...task }));
}

describe('validateDeliveryRunInput: a valid plan', () => {
  it('passes and applies the defaults (environments, maxParallel, quorum, timeout, task input/dependsOn)', () => {
    const result = validateDeliveryRunInput(validPlan());
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    const run = result.value;
    expect(run.environments).toEqual(['dev', 'stage', 'prod']);
    expect(run.maxParallel).toBe(4);
    expect(DEFAULT_MAX_PARALLEL).toBe(4);
    expect(run.approval).toEqual({ approvers: ['alice', 'bob'], quorum: 1, timeout: '72h', signatures: 'optional' });
    expect(run.plan.tasks[0]).toEqual({ id: 'build-api', capability: 'build', input: { name: 'api' }, dependsOn: [] });
    expect(run.plan.tasks[1].input).toEqual({});
    expect(run.plan.tasks[1].dependsOn).toEqual(['build-api']);
  });

  it('keeps explicit values instead of the defaults', () => {
    const plan = validPlan();
    plan.environments = ['dev', 'prod'];
    plan.maxParallel = 2;
    plan.approval = { approvers: ['alice', 'bob'], quorum: 2, timeout: '15m' };
    const result = validateDeliveryRunInput(plan);
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    expect(result.value.environments).toEqual(['dev', 'prod']);
    expect(result.value.maxParallel).toBe(2);
    expect(result.value.approval).toEqual({ approvers: ['alice', 'bob'], quorum: 2, timeout: '15m', signatures: 'optional' });
  });

  it('does not need an approval policy when the run does not go to prod', () => {
    const plan = validPlan();
    plan.environments = ['dev', 'stage'];
    delete plan.approval;
    const result = validateDeliveryRunInput(plan);
    expect(result).toEqual(expect.objectContaining({ ok: true }));
  });

  it('accepts the template plan the workflow tests run (test/fixtures/plans)', () => {
    const raw = readInputFile(join(__dirname, '..', 'fixtures', 'plans', 'template-plan.yaml')) as Record<string, unknown>;
    const result = validateDeliveryRunInput({ ...raw, runId: 'r1' });
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    expect(result.value.plan.tasks.map((t) => t.id)).toEqual(['build-api', 'deploy-api', 'verify-api', 'latency-report']);
  });
});

describe('validateDeliveryRunInput: missing and invalid fields', () => {
  it('refuses a goal.type outside the enum and lists the allowed values', () => {
    const plan = validPlan();
    plan.goal.type = 'explode';
    const issue = issueAt(validateDeliveryRunInput(plan), 'goal.type');
    for (const allowed of ['analyze', 'build', 'deploy', 'fix', 'migrate']) expect(issue.message).toContain(allowed);
  });

  it('reports a task without capability at plan.tasks[1].capability', () => {
    const plan = validPlan();
    delete plan.plan.tasks[1].capability;
    const issues = issuesOf(validateDeliveryRunInput(plan));
    expect(issues).toEqual([{ path: 'plan.tasks[1].capability', message: expect.stringContaining('expected string') }]);
  });

  it('reports an empty capability with its own message', () => {
    const plan = validPlan();
    plan.plan.tasks[1].capability = '';
    expect(issueAt(validateDeliveryRunInput(plan), 'plan.tasks[1].capability').message).toBe('name the capability this task needs');
  });

  it('refuses a tenantId with a dash (IDs must stay parseable)', () => {
    const plan = validPlan();
    plan.tenantId = 'acme-corp';
    const issue = issueAt(validateDeliveryRunInput(plan), 'tenantId');
    expect(issue.message).toContain('no dashes');
  });

  it('refuses an upper-case tenantId and a runId starting with a dash', () => {
    const plan = validPlan();
    plan.tenantId = 'Acme';
    plan.runId = '-r1';
    const result = validateDeliveryRunInput(plan);
    expect(issueAt(result, 'tenantId').message).toContain('lowercase');
    expect(issueAt(result, 'runId').message).toContain('starting with a letter or digit');
  });

  it('refuses a malformed approval.timeout with the duration format, without throwing', () => {
    const plan = validPlan();
    plan.approval.timeout = 'soon';
    const issue = issueAt(validateDeliveryRunInput(plan), 'approval.timeout');
    expect(issue.message).toContain('whole number and a unit');
    expect(issue.message).toContain('72h');
  });

  it('refuses a zero approval.timeout', () => {
    const plan = validPlan();
    plan.approval.timeout = '0h';
    expect(issueAt(validateDeliveryRunInput(plan), 'approval.timeout').message).toBe('must be longer than zero');
  });

  it('refuses a quorum below 1 and a non-integer quorum', () => {
    const plan = validPlan();
    plan.approval.quorum = 0;
    expect(issueAt(validateDeliveryRunInput(plan), 'approval.quorum').message).toBe('must be at least 1');
    plan.approval.quorum = 1.5;
    expect(issueAt(validateDeliveryRunInput(plan), 'approval.quorum').message).toBe('must be a whole number');
  });

  it('refuses an empty approver list', () => {
    const plan = validPlan();
    plan.approval.approvers = [];
    expect(issueAt(validateDeliveryRunInput(plan), 'approval.approvers').message).toBe('list at least one approver');
  });

  it('refuses maxParallel outside 1..64', () => {
    const plan = validPlan();
    plan.maxParallel = 0;
    expect(issueAt(validateDeliveryRunInput(plan), 'maxParallel').message).toBe('must be at least 1');
    plan.maxParallel = 65;
    expect(issueAt(validateDeliveryRunInput(plan), 'maxParallel').message).toBe('must be at most 64');
  });

  it('accepts a per-task heartbeatTimeoutSeconds shorter than the attempt, and refuses a bad one naming the task', () => {
    const plan = validPlan();
    plan.plan.tasks[0].heartbeatTimeoutSeconds = 5;
    const ok = validateDeliveryRunInput(plan);
    expect(ok.ok && ok.value.plan.tasks[0].heartbeatTimeoutSeconds).toBe(5);

    plan.plan.tasks[0].heartbeatTimeoutSeconds = 0;
    expect(issueAt(validateDeliveryRunInput(plan), 'plan.tasks[0].heartbeatTimeoutSeconds').message).toBe('must be a positive whole number of seconds');
    plan.plan.tasks[0].heartbeatTimeoutSeconds = 2.5;
    expect(issueAt(validateDeliveryRunInput(plan), 'plan.tasks[0].heartbeatTimeoutSeconds').message).toBe('must be a positive whole number of seconds');

    // Not shorter than the build capability's 300 s attempt: failover would wait for the attempt to time out.
    plan.plan.tasks[0].heartbeatTimeoutSeconds = 300;
    expect(issueAt(validateDeliveryRunInput(plan), 'plan.tasks[0].heartbeatTimeoutSeconds').message).toBe(
      '300 s is not shorter than the attempt\'s timeout (300 s, the build default): a dead worker would only be noticed when the attempt times out; give less than 300, or raise timeoutSeconds',
    );
    // Against the task's own timeout when it has one.
    plan.plan.tasks[0].heartbeatTimeoutSeconds = 60;
    plan.plan.tasks[0].timeoutSeconds = 60;
    expect(issueAt(validateDeliveryRunInput(plan), 'plan.tasks[0].heartbeatTimeoutSeconds').message).toMatch(/^60 s is not shorter than the attempt's timeout \(60 s\)/);
    plan.plan.tasks[0].timeoutSeconds = 61;
    expect(validateDeliveryRunInput(plan).ok).toBe(true);
  });

  it('refuses a plan without tasks and a negative maxCost', () => {
    const plan = validPlan();
    plan.plan.tasks = [];
    plan.goal.maxCost = -1;
    const result = validateDeliveryRunInput(plan);
    expect(issueAt(result, 'plan.tasks').message).toBe('a plan needs at least one task');
    expect(issueAt(result, 'goal.maxCost').message).toBe('must be zero or more');
  });

  it('refuses a task id with characters outside the allowed set', () => {
    const plan = validPlan();
    plan.plan.tasks[2].id = 'verify api';
    expect(issueAt(validateDeliveryRunInput(plan), 'plan.tasks[2].id').message).toContain('letters, digits');
  });

  it('reports every missing top-level field at once', () => {
    const issues = issuesOf(validateDeliveryRunInput({}));
    expect(issues.map((i) => i.path)).toEqual(['tenantId', 'runId', 'requestedBy', 'goal', 'plan']);
  });

  it('refuses a non-object input at (root)', () => {
    expect(issuesOf(validateDeliveryRunInput(null))).toEqual([{ path: '(root)', message: expect.stringContaining('expected object') }]);
    expect(issuesOf(validateDeliveryRunInput('plan.yaml'))[0].path).toBe('(root)');
  });

  it('addresses an unknown environment by its index', () => {
    const plan = validPlan();
    plan.environments = ['dev', 'qa'];
    const issue = issueAt(validateDeliveryRunInput(plan), 'environments[1]');
    expect(issue.message).toContain('"prod"');
  });
});

describe('validateDeliveryRunInput: plan graph', () => {
  it('refuses a duplicate task id, naming the earlier one', () => {
    const plan = validPlan();
    plan.plan.tasks.push({ id: 'build-api', capability: 'build' });
    const issue = issueAt(validateDeliveryRunInput(plan), 'plan.tasks[4].id');
    expect(issue.message).toBe('duplicate task id "build-api" (also plan.tasks[0])');
  });

  it('refuses an unknown capability and lists the known ones', () => {
    const plan = validPlan();
    plan.plan.tasks[1].capability = 'teleport';
    const issue = issueAt(validateDeliveryRunInput(plan), 'plan.tasks[1].capability');
    // Registry order; other capabilities (demo.text, noop, extract, ...) follow the four built-in delivery ones.
    expect(issue.message).toBe(`unknown capability "teleport"; known: ${listNames(KNOWN_CAPABILITIES)}`);
    expect(issue.message).toMatch(/; known: build, deploy, verify, analysis, /);
    expect(KNOWN_CAPABILITIES).toEqual(expect.arrayContaining(['build', 'deploy', 'verify', 'analysis', 'demo.text', 'demo.text.fallback']));
  });

  it('checks capabilities against the list it is given', () => {
    const plan = validPlan();
    const result = validateDeliveryRunInput(plan, ['build', 'deploy']);
    expect(issueAt(result, 'plan.tasks[2].capability').message).toBe('unknown capability "verify"; known: build, deploy');
    expect(issueAt(result, 'plan.tasks[3].capability').message).toContain('"analysis"');
  });

  it('refuses an unknown dependency at plan.tasks[i].dependsOn[j] and lists the plan\'s tasks', () => {
    const plan = validPlan();
    plan.plan.tasks[2].dependsOn = ['deploy-api', 'ghost'];
    const issue = issueAt(validateDeliveryRunInput(plan), 'plan.tasks[2].dependsOn[1]');
    expect(issue.message).toBe('unknown task "ghost"; tasks in this plan: build-api, deploy-api, verify-api, latency');
  });

  it('addresses an unknown dependency of a duplicated task by that task\'s own index', () => {
    const plan = validPlan();
    plan.plan.tasks.push({ id: 'latency', capability: 'analysis', dependsOn: ['nowhere'] });
    const result = validateDeliveryRunInput(plan);
    expect(issueAt(result, 'plan.tasks[4].id').message).toContain('duplicate task id "latency" (also plan.tasks[3])');
    expect(issueAt(result, 'plan.tasks[4].dependsOn[0]').message).toContain('unknown task "nowhere"');
  });

  it('reports a cycle a → b → c → a with the nodes on it', () => {
    const plan = validPlan();
    plan.environments = ['dev'];
    plan.plan.tasks = tasks({ id: 'a', dependsOn: ['b'] }, { id: 'b', dependsOn: ['c'] }, { id: 'c', dependsOn: ['a'] });
    const issues = issuesOf(validateDeliveryRunInput(plan));
    expect(issues).toEqual([{ path: 'plan.tasks', message: 'dependency cycle: a → b → c → a (each depends on the next)' }]);
  });

  it('reports a self-loop', () => {
    const plan = validPlan();
    plan.plan.tasks = tasks({ id: 'solo', dependsOn: ['solo'] });
    expect(issueAt(validateDeliveryRunInput(plan), 'plan.tasks').message).toBe('dependency cycle: solo → solo (each depends on the next)');
  });

  it('reports a cycle hanging off an acyclic part of the plan, without the nodes outside it', () => {
    const plan = validPlan();
    plan.plan.tasks = tasks(
      { id: 'root' },
      { id: 'x', dependsOn: ['root', 'y'] },
      { id: 'y', dependsOn: ['z'] },
      { id: 'z', dependsOn: ['x'] },
    );
    const message = issueAt(validateDeliveryRunInput(plan), 'plan.tasks').message;
    expect(message).toBe('dependency cycle: x → y → z → x (each depends on the next)');
    expect(message).not.toContain('root');
  });

  it('reports every cross-field problem at once', () => {
    const plan = validPlan();
    delete plan.approval;
    plan.plan.tasks = tasks({ id: 'a', capability: 'teleport', dependsOn: ['b'] }, { id: 'b', dependsOn: ['a', 'ghost'] });
    const issues = issuesOf(validateDeliveryRunInput(plan));
    expect(issues.map((i) => i.path)).toEqual(['plan.tasks[0].capability', 'plan.tasks[1].dependsOn[1]', 'plan.tasks', 'approval']);
  });
});

describe('validateDeliveryRunInput: a plan of 120 tasks prints no list of 120 names', () => {
  const taskId = (n: number) => `t${String(n).padStart(3, '0')}`;
  const firstTen = Array.from({ length: 10 }, (_, i) => taskId(i + 1));
  /** t001 … t120 on dev only, each depending on the one before. */
  function largePlan(): Record<string, any> {
    const plan = validPlan();
    plan.environments = ['dev'];
    plan.plan.tasks = tasks(...Array.from({ length: 120 }, (_, i) => ({ id: taskId(i + 1), dependsOn: i === 0 ? [] : [taskId(i)] })));
    return plan;
  }

  it('passes as it is', () => {
    expect(validateDeliveryRunInput(largePlan()).ok).toBe(true);
  });

  it('cuts the plan\'s tasks after ten for an unknown dependency, and suggests a task differing only in case', () => {
    const plan = largePlan();
    plan.plan.tasks[50].dependsOn = ['ghost', 'T005'];
    const result = validateDeliveryRunInput(plan);
    expect(issueAt(result, 'plan.tasks[50].dependsOn[0]').message).toBe(`unknown task "ghost"; tasks in this plan: ${firstTen.join(', ')}, … and 110 more`);
    expect(issueAt(result, 'plan.tasks[50].dependsOn[1]').message).toBe(`unknown task "T005" (did you mean "t005"?); tasks in this plan: ${firstTen.join(', ')}, … and 110 more`);
  });

  it('cuts a cycle through all 120 tasks, closing it on its first task', () => {
    const plan = largePlan();
    plan.plan.tasks[0].dependsOn = [taskId(120)];
    const message = issueAt(validateDeliveryRunInput(plan), 'plan.tasks').message;
    const onTheLoop = ['t001', ...Array.from({ length: 9 }, (_, i) => taskId(120 - i))];
    expect(message).toBe(`dependency cycle: ${onTheLoop.join(' → ')} → … and 110 more → t001 (each depends on the next)`);
  });

  it('cuts a long list of known capabilities, and suggests one differing only in case', () => {
    const plan = largePlan();
    plan.plan.tasks[7].capability = 'Build';
    const capabilities = ['build', ...Array.from({ length: 29 }, (_, i) => `plugin-${i + 1}`)];
    const message = issueAt(validateDeliveryRunInput(plan, capabilities), 'plan.tasks[7].capability').message;
    expect(message).toBe(`unknown capability "Build" (did you mean "build"?); known: ${capabilities.slice(0, 10).join(', ')}, … and 20 more`);
  });
});

describe('validateDeliveryRunInput: environments and approval', () => {
  it('refuses environments out of order', () => {
    const plan = validPlan();
    plan.environments = ['prod', 'dev'];
    const issue = issueAt(validateDeliveryRunInput(plan), 'environments');
    expect(issue.message).toBe('list each environment once, in the order dev → stage → prod (got prod, dev)');
  });

  it('refuses a duplicated environment', () => {
    const plan = validPlan();
    plan.environments = ['dev', 'dev', 'stage'];
    expect(issueAt(validateDeliveryRunInput(plan), 'environments').message).toContain('got dev, dev, stage');
  });

  it('accepts a subset in order (dev → prod)', () => {
    const plan = validPlan();
    plan.environments = ['dev', 'prod'];
    expect(validateDeliveryRunInput(plan).ok).toBe(true);
  });

  it('refuses an empty environment list', () => {
    const plan = validPlan();
    plan.environments = [];
    expect(issueAt(validateDeliveryRunInput(plan), 'environments').message).toBe('list at least one environment');
  });

  it('refuses prod without an approval policy', () => {
    const plan = validPlan();
    delete plan.approval;
    const issue = issueAt(validateDeliveryRunInput(plan), 'approval');
    expect(issue.message).toContain('required when environments include prod');
  });

  it('refuses prod without a policy also when prod comes from the default environments', () => {
    const plan = validPlan();
    delete plan.approval;
    delete plan.environments;
    expect(issueAt(validateDeliveryRunInput(plan), 'approval').message).toContain('prod');
  });

  it('refuses a quorum larger than the approvers other than the requester', () => {
    const plan = validPlan();
    plan.approval = { approvers: ['alice', 'carol'], quorum: 2 };
    const issue = issueAt(validateDeliveryRunInput(plan), 'approval.quorum');
    expect(issue.message).toBe('quorum 2 can never be met: only 1 distinct approver(s) other than the requester "carol"');
  });

  it('counts a repeated approver once when checking the quorum', () => {
    const plan = validPlan();
    plan.approval = { approvers: ['alice', 'alice'], quorum: 2 };
    expect(issueAt(validateDeliveryRunInput(plan), 'approval.quorum').message).toContain('only 1 distinct approver(s)');
  });

  it('refuses a policy whose only approver is the requester', () => {
    const plan = validPlan();
    plan.approval = { approvers: ['carol'] };
    expect(issueAt(validateDeliveryRunInput(plan), 'approval.quorum').message).toContain('quorum 1 can never be met: only 0');
  });

  it('accepts a quorum equal to the eligible approvers', () => {
    const plan = validPlan();
    plan.approval = { approvers: ['alice', 'bob', 'carol'], quorum: 2 };
    expect(validateDeliveryRunInput(plan).ok).toBe(true);
  });
});
