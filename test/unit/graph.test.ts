import { findCycle, findUnknownDependencies, formatCycle, topologicalOrder, type GraphNode } from '../../shared/contract/graph';

const node = (id: string, ...dependsOn: string[]): GraphNode => ({ id, dependsOn });

/** Every node on the returned cycle depends on the next one, and it closes on its first node. */
function expectRealCycle(nodes: GraphNode[], cycle: string[] | undefined): void {
  expect(cycle).toBeDefined();
  const path = cycle as string[];
  expect(path.length).toBeGreaterThanOrEqual(2);
  expect(path[path.length - 1]).toBe(path[0]);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  for (let i = 0; i < path.length - 1; i++) expect(byId.get(path[i])?.dependsOn).toContain(path[i + 1]);
  expect(new Set(path.slice(0, -1)).size).toBe(path.length - 1);
}

describe('findCycle', () => {
  it('returns undefined for an acyclic graph (diamond)', () => {
    expect(findCycle([node('a'), node('b', 'a'), node('c', 'a'), node('d', 'b', 'c')])).toBeUndefined();
  });

  it('returns undefined for an empty graph and for independent nodes', () => {
    expect(findCycle([])).toBeUndefined();
    expect(findCycle([node('a'), node('b')])).toBeUndefined();
  });

  it('finds a → b → c → a with the first node repeated at the end', () => {
    const nodes = [node('a', 'b'), node('b', 'c'), node('c', 'a')];
    const cycle = findCycle(nodes);
    expect(cycle).toEqual(['a', 'b', 'c', 'a']);
    expectRealCycle(nodes, cycle);
  });

  it('finds a self-loop', () => {
    expect(findCycle([node('a'), node('b', 'b')])).toEqual(['b', 'b']);
  });

  it('finds a cycle that is not reachable from the first node, leaving out the nodes leading into it', () => {
    const nodes = [node('root'), node('entry', 'x'), node('x', 'y'), node('y', 'x')];
    const cycle = findCycle(nodes);
    expect(cycle).toEqual(['x', 'y', 'x']);
    expectRealCycle(nodes, cycle);
  });

  it('ignores unknown dependencies', () => {
    expect(findCycle([node('a', 'ghost'), node('b', 'a', 'phantom')])).toBeUndefined();
  });
});

describe('formatCycle', () => {
  const ids = (count: number) => Array.from({ length: count }, (_, i) => `n${i + 1}`);

  it('joins a cycle of up to ten nodes whole', () => {
    expect(formatCycle(['a', 'b', 'c', 'a'])).toBe('a → b → c → a');
    expect(formatCycle(['solo', 'solo'])).toBe('solo → solo');
    expect(formatCycle([...ids(10), 'n1'])).toBe(`${ids(10).join(' → ')} → n1`);
  });

  it('cuts a longer one after ten nodes, counts the rest and still closes on the first node', () => {
    expect(formatCycle([...ids(11), 'n1'])).toBe(`${ids(10).join(' → ')} → … and 1 more → n1`);
    expect(formatCycle([...ids(120), 'n1'])).toBe(`${ids(10).join(' → ')} → … and 110 more → n1`);
  });
});

describe('findUnknownDependencies', () => {
  it('returns nothing when every dependency is a node', () => {
    expect(findUnknownDependencies([node('a'), node('b', 'a')])).toEqual([]);
  });

  it('reports each unknown dependency with its node, the node\'s position and the dependency\'s position', () => {
    expect(findUnknownDependencies([node('a'), node('b', 'a', 'ghost'), node('c', 'phantom', 'b', 'ghost')])).toEqual([
      { node: 'b', nodeIndex: 1, index: 1, dependency: 'ghost' },
      { node: 'c', nodeIndex: 2, index: 0, dependency: 'phantom' },
      { node: 'c', nodeIndex: 2, index: 2, dependency: 'ghost' },
    ]);
  });
});

describe('topologicalOrder', () => {
  it('puts every node after its dependencies, whatever the input order', () => {
    const nodes = [node('d', 'b', 'c'), node('c', 'a'), node('b', 'a'), node('a'), node('e')];
    const order = topologicalOrder(nodes);
    expect([...order].sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    for (const n of nodes) for (const dep of n.dependsOn) expect(order.indexOf(dep)).toBeLessThan(order.indexOf(n.id));
  });

  it('keeps the input order where dependencies allow', () => {
    expect(topologicalOrder([node('c', 'b'), node('b', 'a'), node('a')])).toEqual(['a', 'b', 'c']);
    expect(topologicalOrder([node('x'), node('y'), node('z')])).toEqual(['x', 'y', 'z']);
  });

  it('ignores unknown dependencies and lists each node once', () => {
    expect(topologicalOrder([node('b', 'a', 'ghost'), node('a'), node('c', 'a', 'b')])).toEqual(['a', 'b', 'c']);
  });
});
