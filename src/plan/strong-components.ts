/**
 * The strongly connected components of a dependency graph, each after every component it depends
 * on (Tarjan's algorithm emits a component after every component it reaches, and the links go
 * from a table to the tables it needs first); each component's names in the given order. A
 * component of several names is a cycle.
 */
export function strongComponents(
  names: readonly string[],
  needs: (name: string) => Iterable<string>,
): string[][] {
  const known = new Set(names);
  const order = new Map(names.map((n, i) => [n, i]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (name: string): void => {
    index.set(name, index.size);
    low.set(name, index.get(name) as number);
    stack.push(name);
    onStack.add(name);
    for (const next of needs(name)) {
      if (!known.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(name, Math.min(low.get(name) as number, low.get(next) as number));
      } else if (onStack.has(next)) {
        low.set(name, Math.min(low.get(name) as number, index.get(next) as number));
      }
    }
    if (low.get(name) !== index.get(name)) return;
    const component: string[] = [];
    for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
      onStack.delete(top);
      component.push(top);
      if (top === name) break;
    }
    found.push(component.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0)));
  };
  for (const name of names) if (!index.has(name)) visit(name);
  return found;
}
