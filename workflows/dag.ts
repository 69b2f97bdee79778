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
}

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

/** An error's message for a node outcome; Temporal wraps activity errors, so the cause's message is appended. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
  }
  return String(error);
}

/** "task "a" failed: …; task "b" failed: …" for every failed node, or undefined when none failed. */
export function failedNodesReason<R>(outcomes: DagOutcomes<R>, noun: string): string | undefined {
  const failed = Object.entries(outcomes).flatMap(([id, o]) => (o.status === 'failed' ? [`${noun} "${id}" failed: ${o.error}`] : []));
  return failed.length > 0 ? failed.join('; ') : undefined;
}

/**
 * Runs the DAG to the end and returns every node's outcome. `maxParallel` may be a function, read each time nodes
 * could start: lowering it (e.g. a re-planned, more conservative strategy) holds back new nodes until fewer are
 * running; running nodes are never interrupted.
 *
 * The loop sleeps until a node settles (each settlement calls the one pending resolver) rather than racing the
 * running nodes: inside a workflow the SDK records a stack trace for every promise, so a race per step over N running
 * nodes would cost N+1 promises per step.
 */
export async function runDag<N extends DagNode, R>(
  nodes: readonly N[],
  maxParallel: number | (() => number),
  runNode: (node: N, upstream: Record<string, R>) => Promise<R>,
  hooks: DagHooks = {},
): Promise<DagOutcomes<R>> {
  const outcomes: DagOutcomes<R> = {};
  const running = new Set<string>();
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
    for (const node of readyNodes(nodes, outcomes, running, limit)) {
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
        running.delete(node.id);
        wake?.();
      };
      running.add(node.id);
      void started.then(
        (result) => settle({ status: 'succeeded', result }),
        (error: unknown) => settle({ status: 'failed', error: errorMessage(error) }),
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
    // Settlements before this point are already in `outcomes`; any later one calls this resolver.
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
  }
  return outcomes;
}
