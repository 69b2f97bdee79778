/**
 * The governance gates (shared/contract/governance), pure: each gate blocking and letting through, with its reason;
 * the defaults and a tenant's overrides; freeze windows and the Schedule skip calendars made from them; the action an
 * incident proposes and when its signals conflict.
 */
import { calendarMatches, freezeLiftsAt, freezeSkipCalendars, type ChangeFreeze } from '../../shared/contract/governance/freeze';
import { evaluateGates, onlyApprovalBlocks, type ActionRecord, type GateInput } from '../../shared/contract/governance/gates';
import { DEFAULT_GOVERNANCE_POLICY, governanceOverridesSchema, resolvePolicy } from '../../shared/contract/governance/policy';
import { conflictingSignals, proposedAction, validateRemediationInput } from '../../shared/contract/remediation/input';
import { skipListFor } from '../../shared/node/governance/schedules';

const NOW = '2030-06-01T12:00:00.000Z';
const ago = (seconds: number) => new Date(Date.parse(NOW) - seconds * 1000).toISOString();

function input(overrides: Partial<GateInput> & { action?: string; environment?: string; confidence?: number; conflictingSignals?: boolean } = {}): GateInput {
  const { action = 'restart', environment = 'dev', confidence, conflictingSignals: conflicting, ...rest } = overrides;
  return {
    proposal: { action, tenantId: 'acme', service: 'api', environment, ...(confidence !== undefined ? { confidence } : {}), ...(conflicting ? { conflictingSignals: true } : {}) },
    history: [],
    freezes: [],
    approval: 'not_requested',
    now: NOW,
    policy: DEFAULT_GOVERNANCE_POLICY,
    ...rest,
  };
}

const gatesOf = (verdict: ReturnType<typeof evaluateGates>) => verdict.blocks.map((b) => b.gate);
const done = (action: string, secondsAgo: number, target: Partial<ActionRecord> = {}): ActionRecord => ({ action, service: 'api', environment: 'dev', at: ago(secondsAgo), ...target });

function freeze(overrides: Partial<ChangeFreeze> = {}): ChangeFreeze {
  return { id: 'frz_1', tenantId: 'acme', environment: 'stage', start: ago(3600), end: ago(-3600), reason: 'year-end freeze', policy: 'wait', createdBy: 'ops', ...overrides };
}

describe('forbidden actions', () => {
  it.each(['drop_database', 'Drop Database', 'delete-backups', 'disable_authentication'])('%s is refused in every environment, even approved', (action) => {
    for (const environment of ['dev', 'stage', 'prod']) {
      const verdict = evaluateGates(input({ action, environment, approval: 'approved' }));
      expect(verdict.allowed).toBe(false);
      expect(verdict.blocks[0]).toMatchObject({ gate: 'forbidden' });
      expect(verdict.blocks[0].reason).toMatch(/is forbidden in every environment/);
    }
  });

  it('no tenant override reaches them: allowing everything in dev still refuses drop_database', () => {
    const policy = resolvePolicy({ allowlists: { dev: '*' } });
    expect(gatesOf(evaluateGates(input({ action: 'drop_database', policy })))).toEqual(['forbidden']);
  });
});

describe('per-environment allowlists', () => {
  it('dev allows every governed action', () => {
    for (const action of ['restart', 'scale_up', 'scale_down', 'rollback', 'deploy']) expect(evaluateGates(input({ action })).allowed).toBe(true);
  });

  it('stage allows restart, scale, deploy and noop, and refuses rollback naming what is allowed', () => {
    for (const action of ['restart', 'scale_up', 'scale_down', 'deploy', 'noop']) expect(evaluateGates(input({ action, environment: 'stage' })).allowed).toBe(true);
    const verdict = evaluateGates(input({ action: 'rollback', environment: 'stage' }));
    expect(verdict.blocks).toEqual([{ gate: 'allowlist', reason: 'rollback is not allowed in stage (allowed there: restart, scale_up, scale_down, deploy, noop, observe)' }]);
  });

  it('an environment without an allowlist is refused', () => {
    expect(evaluateGates(input({ environment: 'qa' })).blocks).toEqual([{ gate: 'allowlist', reason: 'no allowlist for environment "qa"' }]);
  });

  it('a tenant may narrow dev', () => {
    const policy = resolvePolicy({ allowlists: { dev: ['restart'] } });
    expect(evaluateGates(input({ action: 'scale_up', policy })).blocks.map((b) => b.gate)).toEqual(['allowlist']);
  });
});

describe('prod: only after approval', () => {
  it('blocks until approved, and that block is the only one (the run then waits at the approval gate)', () => {
    const waiting = evaluateGates(input({ environment: 'prod' }));
    expect(waiting.blocks).toEqual([{ gate: 'approval', reason: 'restart in prod needs an approval first (approval not requested)' }]);
    expect(onlyApprovalBlocks(waiting)).toBe(true);
    expect(evaluateGates(input({ environment: 'prod', approval: 'approved' })).allowed).toBe(true);
  });

  it('a noop needs no approval; a rejection keeps the block', () => {
    expect(evaluateGates(input({ action: 'noop', environment: 'prod' })).allowed).toBe(true);
    expect(evaluateGates(input({ environment: 'prod', approval: 'rejected' })).blocks[0].reason).toMatch(/approval rejected/);
  });

  it('no override removes it', () => {
    expect(resolvePolicy({ allowlists: { prod: '*' } }).approvalRequired).toEqual(['prod']);
    expect(governanceOverridesSchema.safeParse({ approvalRequired: [] }).success).toBe(false);
  });
});

describe('cooldowns', () => {
  it('restart 60 s, scale 120 s, rollback 300 s by default', () => {
    expect(DEFAULT_GOVERNANCE_POLICY.cooldownSeconds).toEqual({ restart: 60, scale: 120, rollback: 300 });
  });

  it('blocks a restart 30 s after the last one, says how long is left and when it lifts', () => {
    const verdict = evaluateGates(input({ history: [done('restart', 30)] }));
    expect(verdict.blocks).toEqual([
      { gate: 'cooldown', reason: 'restart of acme/api/dev is cooling down: the last one was 30 s ago, the cooldown is 60 s (30 s left)', until: ago(-30) },
    ]);
  });

  it('lets it through once the cooldown is over (61 s)', () => {
    expect(evaluateGates(input({ history: [done('restart', 61)] })).allowed).toBe(true);
  });

  it('scale_up and scale_down share the scale cooldown', () => {
    expect(gatesOf(evaluateGates(input({ action: 'scale_down', history: [done('scale_up', 100)] })))).toEqual(['cooldown']);
    expect(evaluateGates(input({ action: 'scale_down', history: [done('scale_up', 121)] })).allowed).toBe(true);
  });

  it('rollback cools down 300 s; another target or another action family does not count', () => {
    expect(gatesOf(evaluateGates(input({ action: 'rollback', history: [done('rollback', 299)] })))).toEqual(['cooldown']);
    expect(evaluateGates(input({ history: [done('restart', 10, { service: 'web' }), done('restart', 10, { environment: 'stage' }), done('scale_up', 10)] })).allowed).toBe(true);
  });

  it('a tenant may override a cooldown', () => {
    const policy = resolvePolicy({ cooldownSeconds: { restart: 10 } });
    expect(evaluateGates(input({ history: [done('restart', 30)], policy })).allowed).toBe(true);
  });
});

describe('repetition suppression', () => {
  // Without the restart cooldown, so the repetition gate is what decides.
  const policy = resolvePolicy({ cooldownSeconds: { restart: 0 } });

  it('the same action on the same target at most 3 times in 5 minutes', () => {
    expect(evaluateGates(input({ policy, history: [done('restart', 200), done('restart', 100)] })).allowed).toBe(true);
    const verdict = evaluateGates(input({ policy, history: [done('restart', 250), done('restart', 200), done('restart', 100)] }));
    expect(verdict.blocks).toEqual([
      { gate: 'repetition', reason: 'restart of acme/api/dev ran 3 times in the last 300 s (at most 3): suppressed as a repetition', until: ago(250 - 300) },
    ]);
  });

  it('runs older than the window do not count', () => {
    expect(evaluateGates(input({ policy, history: [done('restart', 400), done('restart', 200), done('restart', 100)] })).allowed).toBe(true);
  });

  it('a tenant may change the limit and the window', () => {
    const strict = resolvePolicy({ cooldownSeconds: { restart: 0 }, repetition: { max: 1, windowSeconds: 60 } });
    expect(gatesOf(evaluateGates(input({ policy: strict, history: [done('restart', 30)] })))).toEqual(['repetition']);
    expect(evaluateGates(input({ policy: strict, history: [done('restart', 90)] })).allowed).toBe(true);
  });
});

describe('uncertainty and conflicting signals', () => {
  it('confidence below 0.5 → noop instead', () => {
    const verdict = evaluateGates(input({ confidence: 0.4 }));
    expect(verdict).toMatchObject({ allowed: false, fallback: 'noop', blocks: [{ gate: 'uncertainty', reason: 'confidence 0.4 is below 0.5: noop instead of restart' }] });
    expect(evaluateGates(input({ confidence: 0.5 })).allowed).toBe(true);
  });

  it('conflicting signals → observe only (over a noop)', () => {
    const verdict = evaluateGates(input({ confidence: 0.3, conflictingSignals: true }));
    expect(verdict.fallback).toBe('observe');
    expect(gatesOf(verdict)).toEqual(['uncertainty', 'conflict']);
  });

  it('a tenant may move the threshold', () => {
    expect(evaluateGates(input({ confidence: 0.6, policy: resolvePolicy({ confidenceThreshold: 0.7 }) })).fallback).toBe('noop');
  });
});

describe('change freezes', () => {
  it('blocks an action in a frozen environment, with the freeze, its end and its policy', () => {
    const verdict = evaluateGates(input({ environment: 'stage', freezes: [freeze()] }));
    expect(verdict.blocks).toEqual([
      { gate: 'freeze', reason: `stage of acme is frozen until ${ago(-3600)}: year-end freeze (freeze frz_1, ${ago(3600)} → ${ago(-3600)})`, until: ago(-3600), freezePolicy: 'wait' },
    ]);
  });

  it('another environment, a freeze over or not yet begun, and a noop are not blocked', () => {
    expect(evaluateGates(input({ environment: 'dev', freezes: [freeze()] })).allowed).toBe(true);
    expect(evaluateGates(input({ environment: 'stage', freezes: [freeze({ start: ago(7200), end: NOW })] })).allowed).toBe(true);
    expect(evaluateGates(input({ environment: 'stage', freezes: [freeze({ start: ago(-60) })] })).allowed).toBe(true);
    expect(evaluateGates(input({ action: 'noop', environment: 'stage', freezes: [freeze()] })).allowed).toBe(true);
  });

  it('"*" covers every environment; one refusing freeze makes the block a refusal', () => {
    const verdict = evaluateGates(input({ environment: 'prod', approval: 'approved', freezes: [freeze(), freeze({ id: 'frz_2', environment: '*', policy: 'refuse' })] }));
    expect(verdict.blocks).toHaveLength(1);
    expect(verdict.blocks[0]).toMatchObject({ gate: 'freeze', freezePolicy: 'refuse' });
  });

  it('back-to-back freezes lift together at the end of the last', () => {
    const freezes = [freeze(), freeze({ id: 'frz_2', start: ago(-3600), end: ago(-7200) }), freeze({ id: 'frz_3', start: ago(-9000), end: ago(-10000) })];
    expect(freezeLiftsAt(freezes, 'stage', NOW)).toBe(ago(-7200));
  });

  it('a delivery promotion asks only the gates it names', () => {
    const verdict = evaluateGates(input({ action: 'deploy', environment: 'prod', freezes: [], history: [done('deploy', 1)], gates: ['forbidden', 'allowlist', 'freeze'] }));
    expect(verdict.allowed).toBe(true);
  });
});

describe('every gate that blocks is listed, each with its reason', () => {
  it('a prod restart during a freeze, just after another, with low confidence', () => {
    const verdict = evaluateGates(input({ environment: 'prod', confidence: 0.2, freezes: [freeze({ environment: 'prod' })], history: [done('restart', 5, { environment: 'prod' })] }));
    expect(gatesOf(verdict)).toEqual(['approval', 'freeze', 'cooldown', 'uncertainty']);
    expect(verdict.blocks.every((b) => b.reason.length > 0)).toBe(true);
  });
});

describe('overrides are validated', () => {
  it('names the field and the fix', () => {
    const parsed = governanceOverridesSchema.safeParse({ cooldownSeconds: { reboot: 5 }, confidenceThreshold: 2, allowlists: { stage: ['drop_database'] } });
    expect(parsed.success).toBe(false);
    const messages = parsed.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(messages.some((m) => m === 'cooldownSeconds: unknown cooldown reboot: the families are restart, scale, rollback, deploy')).toBe(true);
    expect(messages).toContain('confidenceThreshold: from 0 to 1');
    expect(messages).toContain('allowlists.stage: "*" or a list of restart, scale_up, scale_down, rollback, deploy, noop, observe');
  });
});

describe('freeze skip calendars (Temporal Schedules spec.skip)', () => {
  /** Every minute from `from` to `to` (ISO), matched or not by the calendars. */
  function coverage(calendars: ReturnType<typeof freezeSkipCalendars>, from: string, to: string): { inside: number; missed: string[]; outsideMatched: string[] } {
    const missed: string[] = [];
    const outsideMatched: string[] = [];
    let inside = 0;
    const start = Date.parse(from);
    const end = Date.parse(to);
    for (let t = start - 3 * 3_600_000; t < end + 3 * 3_600_000; t += 60_000) {
      const at = new Date(t);
      const matched = calendars.some((c) => calendarMatches(c, at));
      if (t >= start && t < end) {
        inside += 1;
        if (!matched) missed.push(at.toISOString());
      } else if (matched) outsideMatched.push(at.toISOString());
    }
    return { inside, missed, outsideMatched };
  }

  it.each([
    ['within one hour', '2030-03-10T14:30:00Z', '2030-03-10T14:45:00Z', 1],
    ['across hours of one day', '2030-03-10T14:30:00Z', '2030-03-10T18:15:00Z', 3],
    ['across days', '2030-03-10T14:30:00Z', '2030-03-13T05:20:00Z', 5],
    ['across a month and a year end', '2030-12-30T22:10:00Z', '2031-01-02T01:05:00Z', 6],
    ['whole days', '2030-03-10T00:00:00Z', '2030-03-12T00:00:00Z', 1],
  ])('%s: every minute inside is skipped, none outside', (_label, start, end, count) => {
    const calendars = freezeSkipCalendars({ id: 'frz_x', start, end });
    expect(calendars).toHaveLength(count);
    const { inside, missed, outsideMatched } = coverage(calendars, start, end);
    expect(inside).toBeGreaterThan(0);
    expect({ missed, outsideMatched }).toEqual({ missed: [], outsideMatched: [] });
    expect(calendars.every((c) => c.comment === 'ados-freeze:frz_x')).toBe(true);
  });

  it('a window that covers part of a minute skips the whole minute', () => {
    const calendars = freezeSkipCalendars({ id: 'frz_x', start: '2030-03-10T14:30:20Z', end: '2030-03-10T14:31:10Z' });
    expect(calendars).toEqual([
      expect.objectContaining({ hour: { start: 14, end: 14, step: 1 }, minute: { start: 30, end: 31, step: 1 }, second: { start: 0, end: 59, step: 1 } }),
    ]);
  });

  it("a schedule's own skip entries are kept, ADOS's replaced; the memo's environment picks the freezes", () => {
    const own = { comment: 'maintenance', hour: 3 };
    const stale = { comment: 'ados-freeze:frz_old', hour: 4 };
    const freezes = [freeze({ id: 'frz_a', environment: 'stage' }), freeze({ id: 'frz_b', environment: 'prod' })];
    const forStage = skipListFor([own, stale], freezes, 'stage');
    expect(forStage[0]).toBe(own);
    expect(new Set(forStage.slice(1).map((c) => c.comment))).toEqual(new Set(['ados-freeze:frz_a']));
    const forAll = skipListFor([own], freezes, undefined);
    expect(new Set(forAll.slice(1).map((c) => c.comment))).toEqual(new Set(['ados-freeze:frz_a', 'ados-freeze:frz_b']));
  });
});

describe('incidents', () => {
  const incident = { tenantId: 'acme', service: 'api', environment: 'dev', kind: 'crash', confidence: 0.9, requestedBy: 'ops', openedAt: NOW };

  it('crash → restart, overload → scale_up, false alarm → noop, unless an action is proposed', () => {
    expect(proposedAction({ kind: 'crash' })).toBe('restart');
    expect(proposedAction({ kind: 'overload' })).toBe('scale_up');
    expect(proposedAction({ kind: 'false_alarm' })).toBe('noop');
    expect(proposedAction({ kind: 'bad_release' })).toBe('rollback');
    expect(proposedAction({ kind: 'crash', action: 'rollback' })).toBe('rollback');
  });

  it('signals of another kind conflict', () => {
    expect(conflictingSignals({ kind: 'crash', signals: [{ source: 'health-check', kind: 'crash' }] })).toBe(false);
    expect(conflictingSignals({ kind: 'crash', signals: [{ source: 'health-check', kind: 'crash' }, { source: 'anomaly', kind: 'false_alarm' }] })).toBe(true);
  });

  it('refuses bad input naming the field, and prod without approvers', () => {
    const bad = validateRemediationInput({ ...incident, kind: 'meteor', confidence: 3 });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.issues.map((i) => i.path).sort()).toEqual(['confidence', 'kind']);
    const prod = validateRemediationInput({ ...incident, environment: 'prod' });
    expect(!prod.ok && prod.issues).toEqual([{ path: 'approval', message: 'required for an action in prod: give approvers (and optionally quorum, timeout)' }]);
    expect(validateRemediationInput({ ...incident, environment: 'prod', kind: 'false_alarm' }).ok).toBe(true);
  });
});
