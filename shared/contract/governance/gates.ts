/**
 * The governance gates (README, "Governance gates"): pure functions of plain data, so that a workflow evaluates them
 * deterministically from what an activity read (the clock included), and unit tests need no server.
 *
 *   evaluateGates({ proposal, history, freezes, approval, now, policy }) → { allowed, blocks, fallback }
 *
 * Every gate that blocks says so with its reason; none stops the others from being asked, so one verdict lists
 * everything that stands in the way.
 */
import { activeFreezes, freezeLiftsAt, type ChangeFreeze } from './freeze';
import { cooldownFamily, FORBIDDEN_ACTIONS, normalizeAction, PASSIVE_ACTIONS, type GovernancePolicy } from './policy';

export const GATE_NAMES = ['forbidden', 'allowlist', 'approval', 'freeze', 'cooldown', 'repetition', 'uncertainty', 'conflict'] as const;
export type GateName = (typeof GATE_NAMES)[number];

/** What a run proposes to do, and where. */
export interface ProposedAction {
  action: string;
  tenantId: string;
  service: string;
  environment: string;
  /** How sure the proposal is, 0..1 (an incident's confidence); absent: certain (a planned promotion). */
  confidence?: number;
  /** The incident's signals disagree about what happened. */
  conflictingSignals?: boolean;
}

/** An action carried out before (table `governance_actions`), for cooldowns and repetition. */
export interface ActionRecord {
  action: string;
  service: string;
  environment: string;
  /** When it was carried out (ISO-8601). */
  at: string;
}

/** The approval state for the proposal: `approved` once the one approval gate said so. */
export type ApprovalState = 'approved' | 'not_requested' | 'rejected' | 'expired';

export interface GateInput {
  proposal: ProposedAction;
  /** The target's recent actions (any order). */
  history: readonly ActionRecord[];
  freezes: readonly Pick<ChangeFreeze, 'id' | 'environment' | 'start' | 'end' | 'reason' | 'policy'>[];
  approval: ApprovalState;
  /** The decision's clock (read by an activity, recorded in the history). */
  now: string;
  policy: GovernancePolicy;
  /** Ask only these gates (a delivery run's promotion: forbidden, allowlist, freeze); default all. */
  gates?: readonly GateName[];
}

export interface GateBlock {
  gate: GateName;
  reason: string;
  /** When the block lifts by itself (a cooldown's end, a freeze's end). */
  until?: string;
  /** The freeze's policy, on a freeze block (`wait` or `refuse`). */
  freezePolicy?: string;
}

export interface GateVerdict {
  allowed: boolean;
  /** The action the gates judged (normalized). */
  action: string;
  blocks: GateBlock[];
  /** What to do instead when blocked by uncertainty (`noop`) or conflicting signals (`observe`). */
  fallback?: 'noop' | 'observe';
}

/** The blocks that only an approval lifts. */
export function onlyApprovalBlocks(verdict: GateVerdict): boolean {
  return !verdict.allowed && verdict.blocks.every((b) => b.gate === 'approval');
}

const seconds = (ms: number) => `${Math.ceil(ms / 1000)} s`;

/** Judges a proposal against every gate asked (all by default). */
export function evaluateGates(input: GateInput): GateVerdict {
  const action = normalizeAction(input.proposal.action);
  const asked = new Set<GateName>(input.gates ?? GATE_NAMES);
  const blocks: GateBlock[] = [];
  for (const gate of GATE_NAMES) {
    if (!asked.has(gate)) continue;
    const block = GATES[gate](action, input);
    if (block) blocks.push({ gate, ...block });
  }
  const fallback = blocks.some((b) => b.gate === 'conflict') ? 'observe' : blocks.some((b) => b.gate === 'uncertainty') ? 'noop' : undefined;
  return { allowed: blocks.length === 0, action, blocks, ...(fallback ? { fallback } : {}) };
}

type Gate = (action: string, input: GateInput) => Omit<GateBlock, 'gate'> | undefined;

const where = (p: ProposedAction) => `${p.tenantId}/${p.service}/${p.environment}`;

/** Each gate: undefined when it lets the action through. Passive actions (noop, observe) pass every gate but `forbidden`. */
const GATES: Record<GateName, Gate> = {
  forbidden: (action) => (FORBIDDEN_ACTIONS.includes(action) ? { reason: `${action} is forbidden in every environment (globally forbidden actions: ${FORBIDDEN_ACTIONS.join(', ')})` } : undefined),

  allowlist: (action, { proposal, policy }) => {
    if (PASSIVE_ACTIONS.includes(action) || FORBIDDEN_ACTIONS.includes(action)) return undefined;
    const allowed = policy.allowlists[proposal.environment as keyof GovernancePolicy['allowlists']];
    if (allowed === undefined) return { reason: `no allowlist for environment "${proposal.environment}"` };
    if (allowed === '*' || allowed.includes(action)) return undefined;
    return { reason: `${action} is not allowed in ${proposal.environment} (allowed there: ${allowed.join(', ')})` };
  },

  approval: (action, { proposal, policy, approval }) => {
    if (PASSIVE_ACTIONS.includes(action) || !policy.approvalRequired.includes(proposal.environment as never) || approval === 'approved') return undefined;
    return { reason: `${action} in ${proposal.environment} needs an approval first (approval ${approval.replace('_', ' ')})` };
  },

  freeze: (action, { proposal, freezes, now }) => {
    if (PASSIVE_ACTIONS.includes(action)) return undefined;
    const active = activeFreezes(freezes, proposal.environment, now);
    if (active.length === 0) return undefined;
    const until = freezeLiftsAt(freezes, proposal.environment, now) as string;
    const reasons = active.map((f) => `${f.reason} (freeze ${f.id}, ${f.start} → ${f.end})`).join('; ');
    // One refusing freeze is enough to refuse: a waiting run would promote inside it once the others end.
    const policy = active.some((f) => f.policy === 'refuse') ? 'refuse' : 'wait';
    return { reason: `${proposal.environment} of ${proposal.tenantId} is frozen until ${until}: ${reasons}`, until, freezePolicy: policy };
  },

  cooldown: (action, { proposal, history, policy, now }) => {
    if (PASSIVE_ACTIONS.includes(action)) return undefined;
    const family = cooldownFamily(action);
    const cooldownMs = (policy.cooldownSeconds[family] ?? 0) * 1000;
    if (cooldownMs === 0) return undefined;
    const last = Math.max(...sameTarget(history, proposal).filter((r) => cooldownFamily(normalizeAction(r.action)) === family).map((r) => Date.parse(r.at)), Number.NEGATIVE_INFINITY);
    const ends = last + cooldownMs;
    const at = Date.parse(now);
    if (ends <= at) return undefined;
    return {
      reason: `${family} of ${where(proposal)} is cooling down: the last one was ${seconds(at - last)} ago, the cooldown is ${seconds(cooldownMs)} (${seconds(ends - at)} left)`,
      until: new Date(ends).toISOString(),
    };
  },

  repetition: (action, { proposal, history, policy, now }) => {
    if (PASSIVE_ACTIONS.includes(action)) return undefined;
    const { max, windowSeconds } = policy.repetition;
    const at = Date.parse(now);
    const since = at - windowSeconds * 1000;
    const recent = sameTarget(history, proposal)
      .filter((r) => normalizeAction(r.action) === action && Date.parse(r.at) > since && Date.parse(r.at) <= at)
      .map((r) => Date.parse(r.at))
      .sort((a, b) => a - b);
    if (recent.length < max) return undefined;
    // The window frees a slot when the oldest of the last `max` leaves it.
    const until = new Date(recent[recent.length - max] + windowSeconds * 1000).toISOString();
    return { reason: `${action} of ${where(proposal)} ran ${recent.length} times in the last ${windowSeconds} s (at most ${max}): suppressed as a repetition`, until };
  },

  uncertainty: (action, { proposal, policy }) => {
    if (PASSIVE_ACTIONS.includes(action) || proposal.confidence === undefined || proposal.confidence >= policy.confidenceThreshold) return undefined;
    return { reason: `confidence ${proposal.confidence} is below ${policy.confidenceThreshold}: noop instead of ${action}` };
  },

  conflict: (action, { proposal }) => {
    if (PASSIVE_ACTIONS.includes(action) || !proposal.conflictingSignals) return undefined;
    return { reason: `the incident's signals disagree: observe only, no ${action}` };
  },
};

function sameTarget(history: readonly ActionRecord[], proposal: ProposedAction): ActionRecord[] {
  return history.filter((r) => r.service === proposal.service && r.environment === proposal.environment);
}
