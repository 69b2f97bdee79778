/**
 * The one DAG scheduler, for delivery plans and schema extraction. Pure promise code with no
 * Temporal import, so it is deterministic inside a workflow and unit-testable outside one.
 * Every node whose dependencies succeeded starts at once, up to maxParallel; a failed node's
 * dependents are skipped with the reason and independent branches go on.
 */
export interface DagNode {
  id: string;
  dependsOn: readonly string[];
}

export type NodeOutcome<R> =
  | { status: 'succeeded'; result: R }
  | { status: 'failed'; error: string }
  | { status: 'skipped'; reason: string };

export type DagOutcomes<R> = Record<string, NodeOutcome<R>>;

export interface DagHooks {
  onSkip?: (id: string, reason: string) => void;
  /**
   * Asked before nodes start: a reason stops the DAG. No further node starts, the running ones finish, and every
   * node that never started is skipped with that reason.
   */
  stopReason?: () => string | undefined;
  /**
   * Wake the scheduler from each node's settlement rather than racing every running node on each step. Same
   * decisions, far fewer promises: the SDK records a stack trace for every promise a workflow creates, and with 10
   * nodes running a race per completion made a good share of a workflow task's CPU. Callers in workflows pass
   * `patched(DAG_WAKE_ON_SETTLE_PATCH)`: runs recorded with the race keep replaying with it.
   */
  wakeOnSettle?: boolean;
}

/** The patch id under which workflows switch runDag to `wakeOnSettle`. */
export const DAG_WAKE_ON_SETTLE_PATCH = 'ados-dag-wake-on-settle-v1';

/** Nodes that may start now, in plan order, without exceeding maxParallel. */
export function readyNodes<N extends DagNode>(
  nodes: readonly N[],
  outcomes: Readonly<Record<string, NodeOutcome<unknown>>>,
  running: ReadonlySet<string>,
  maxParallel: number,
): N[] {
  const free = maxParallel - running.size;
  if (free <= 0) return [];
  return nodes
    .filter(
      (node) =>
        outcomes[node.id] === undefined &&
        !running.has(node.id) &&
        node.dependsOn.every((dependency) => outcomes[dependency]?.status === 'succeeded'),
    )
    .slice(0, free);
}

/** Nodes that can never run because a dependency failed or was skipped, with the reason. */
export function blockedNodes<N extends DagNode>(
  nodes: readonly N[],
  outcomes: Readonly<Record<string, NodeOutcome<unknown>>>,
): { node: N; reason: string }[] {
  const blocked: { node: N; reason: string }[] = [];
  for (const node of nodes) {
    if (outcomes[node.id] !== undefined) continue;
    const broken = node.dependsOn.find((d) => {
      const status = outcomes[d]?.status;
      return status === 'failed' || status === 'skipped';
    });
    if (broken) blocked.push({ node, reason: `dependency "${broken}" ${outcomes[broken].status}` });
  }
  return blocked;
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    // Temporal wraps activity errors; the cause carries the handler's own message.
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
  }
  return String(error);
}

/**
 * `maxParallel` may be a function, read each time nodes could start: lowering it (e.g. a re-planned, more
 * conservative strategy) holds back new nodes until fewer are running; running nodes are never interrupted.
 */
export async function runDag<N extends DagNode, R>(
  nodes: readonly N[],
  maxParallel: number | (() => number),
  runNode: (node: N, upstream: Record<string, R>) => Promise<R>,
  hooks: DagHooks = {},
): Promise<DagOutcomes<R>> {
  const outcomes: DagOutcomes<R> = {};
  const running = new Map<string, Promise<void>>();
  const wakeOnSettle = hooks.wakeOnSettle === true;
  let wake: (() => void) | undefined;

  for (;;) {
    // Skipping can cascade (a skipped node blocks its own dependents), so repeat until stable.
    for (let blocked = blockedNodes(nodes, outcomes); blocked.length > 0; blocked = blockedNodes(nodes, outcomes)) {
      for (const { node, reason } of blocked) {
        outcomes[node.id] = { status: 'skipped', reason };
        hooks.onSkip?.(node.id, reason);
      }
    }
    const stop = hooks.stopReason?.();
    const limit = stop !== undefined ? 0 : typeof maxParallel === 'function' ? maxParallel() : maxParallel;
    for (const node of readyNodes(nodes, outcomes, new Set(running.keys()), limit)) {
      const upstream: Record<string, R> = {};
      for (const dependency of node.dependsOn) {
        const outcome = outcomes[dependency];
        if (outcome?.status === 'succeeded') upstream[dependency] = outcome.result;
      }
      let started: Promise<R>;
      try {
        started = runNode(node, upstream);
      } catch (error) {
        // A handler that throws before returning its promise fails its node like any other.
        started = Promise.reject(error);
      }
      const settle = (outcome: NodeOutcome<R>) => {
        outcomes[node.id] = outcome;
        if (wakeOnSettle) {
          running.delete(node.id);
          wake?.();
        }
      };
      const settled = started.then(
        (result) => settle({ status: 'succeeded', result }),
        (error: unknown) => settle({ status: 'failed', error: errorMessage(error) }),
      );
      running.set(
        node.id,
        wakeOnSettle ? settled : settled.finally(() => running.delete(node.id)),
      );
    }
    if (running.size === 0) {
      if (stop !== undefined) {
        for (const node of nodes) {
          if (outcomes[node.id] !== undefined) continue;
          outcomes[node.id] = { status: 'skipped', reason: stop };
          hooks.onSkip?.(node.id, stop);
        }
      }
      break;
    }
    if (wakeOnSettle) {
      // Settlements before this point are already in `outcomes`; any later one calls this resolver.
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    } else {
      await Promise.race(running.values());
    }
  }
  return outcomes;
}
