/**
 * Checks on a dependency graph given as nodes with `dependsOn` lists. Pure; used by plan
 * validation at the client and at workflow entry, and by the DAG scheduler.
 */
import { listNames } from './validation';

export interface GraphNode {
  id: string;
  dependsOn: readonly string[];
}

export interface UnknownDependency {
  node: string;
  /** Position of the node in the list given (ids may repeat in an invalid plan). */
  nodeIndex: number;
  /** Position of the dependency in the node's dependsOn. */
  index: number;
  dependency: string;
}

export function findUnknownDependencies(nodes: readonly GraphNode[]): UnknownDependency[] {
  const ids = new Set(nodes.map((node) => node.id));
  const unknown: UnknownDependency[] = [];
  nodes.forEach((node, nodeIndex) => {
    node.dependsOn.forEach((dependency, index) => {
      if (!ids.has(dependency)) unknown.push({ node: node.id, nodeIndex, index, dependency });
    });
  });
  return unknown;
}

/**
 * Returns one cycle as the list of nodes on it, each depending on the next and the first node
 * repeated at the end (e.g. ["a", "b", "c", "a"]), or undefined when the graph is acyclic. Unknown dependencies are
 * ignored here (reported by findUnknownDependencies).
 */
export function findCycle(nodes: readonly GraphNode[]): string[] | undefined {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];

  const visit = (id: string): string[] | undefined => {
    state.set(id, 'visiting');
    stack.push(id);
    for (const dependency of byId.get(id)?.dependsOn ?? []) {
      if (!byId.has(dependency)) continue;
      const seen = state.get(dependency);
      if (seen === 'visiting') return [...stack.slice(stack.indexOf(dependency)), dependency];
      if (seen === undefined) {
        const cycle = visit(dependency);
        if (cycle) return cycle;
      }
    }
    stack.pop();
    state.set(id, 'done');
    return undefined;
  };

  for (const node of nodes) {
    if (state.get(node.id) === undefined) {
      const cycle = visit(node.id);
      if (cycle) return cycle;
    }
  }
  return undefined;
}

/**
 * A cycle from findCycle for a message, `a → b → c → a`; a long one is cut after MAX_LISTED_NAMES nodes
 * (`a → b → … and 110 more → a`) so it still reads as a loop.
 */
export function formatCycle(cycle: readonly string[]): string {
  return `${listNames(cycle.slice(0, -1), ' → ')} → ${cycle[0]}`;
}

/** Node IDs in an order where every node comes after its dependencies (assumes no cycle). */
export function topologicalOrder(nodes: readonly GraphNode[]): string[] {
  const done = new Set<string>();
  const order: string[] = [];
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const visit = (id: string) => {
    if (done.has(id)) return;
    done.add(id);
    for (const dependency of byId.get(id)?.dependsOn ?? []) if (byId.has(dependency)) visit(dependency);
    order.push(id);
  };
  for (const node of nodes) visit(node.id);
  return order;
}
