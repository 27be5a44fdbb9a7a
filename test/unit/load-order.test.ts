import { describe, expect, it } from 'vitest';
import { runPool } from '../../src/copy/pool.js';
import type { TableRef } from '../../src/db/catalog.js';
import { withLoadOrder } from '../../src/plan/load-order.js';
import type { TablePlan } from '../../src/plan/types.js';
import { tablePlan } from '../support/table-plan.js';

function table(name: string): TablePlan {
  return tablePlan({
    targetName: 'db',
    targetSchema: 'public',
    sourceTable: name,
    targetTable: name,
  });
}

function order(refs: Record<string, TableRef[]>): TablePlan[] {
  return withLoadOrder(Object.keys(refs).map(table), (t) => refs[t.targetTable] ?? []);
}

describe('load order from foreign keys', () => {
  it('loads a child after the parents of the same run, ignoring other schemas and absent tables', () => {
    const plans = order({
      customer: [],
      orders: [
        { schema: 'public', table: 'customer' },
        { schema: 'public', table: 'not_copied' },
        { schema: 'other', table: 'customer' },
      ],
      order_items: [
        { schema: 'public', table: 'orders' },
        { schema: 'public', table: 'order_items' },
      ],
    });
    expect(plans.map((p) => [p.targetTable, p.loadsAfter ?? []])).toEqual([
      ['customer', []],
      ['orders', ['customer']],
      ['order_items', ['orders']],
    ]);
    expect(plans.every((p) => p.warnings.length === 0)).toBe(true);
  });

  it('warns and drops the order for tables on a cycle, keeping it for tables beyond', () => {
    const plans = order({
      a: [{ schema: 'public', table: 'b' }],
      b: [{ schema: 'public', table: 'a' }],
      c: [],
    });
    expect(plans[0]?.loadsAfter).toBeUndefined();
    expect(plans[0]?.warnings).toEqual([
      'foreign keys form a cycle through "b": loaded without ordering',
    ]);
    expect(plans[2]?.warnings).toEqual([]);
  });
});

describe('runPool', () => {
  it('never exceeds the concurrency and starts an item only after its blockers finished', async () => {
    let running = 0;
    let peak = 0;
    const log: string[] = [];
    const items = ['big', 'child', 'parent', 'other'];
    await runPool(
      items,
      2,
      async (item) => {
        running += 1;
        peak = Math.max(peak, running);
        log.push(`start ${item}`);
        await new Promise((r) => setTimeout(r, item === 'parent' ? 30 : 5));
        log.push(`end ${item}`);
        running -= 1;
      },
      (item) => (item === 'child' ? ['parent', 'absent'] : []),
    );
    expect(peak).toBe(2);
    expect(log.indexOf('start child')).toBeGreaterThan(log.indexOf('end parent'));
    expect(log.filter((l) => l.startsWith('end'))).toHaveLength(4);
  });

  it('does nothing for no items', async () => {
    const seen: number[] = [];
    await runPool([], 4, (n: number) => {
      seen.push(n);
      return Promise.resolve();
    });
    expect(seen).toEqual([]);
  });

  it('gives a split table as many slots as parts, never more than the concurrency in all', async () => {
    const busy = new Set<number>();
    let peak = 0;
    const held: Record<string, number[]> = {};
    await runPool(
      ['split', 'a', 'b', 'huge'],
      3,
      async (item, worker, others) => {
        const slots = [worker, ...others];
        held[item] = slots;
        for (const s of slots) {
          expect(busy.has(s)).toBe(false);
          busy.add(s);
        }
        peak = Math.max(peak, busy.size);
        await new Promise((r) => setTimeout(r, 5));
        for (const s of slots) busy.delete(s);
      },
      () => [],
      (item) => ({ split: 2, huge: 9 })[item] ?? 1,
    );
    expect(peak).toBe(3);
    expect(held.split).toHaveLength(2);
    expect(held.huge).toEqual([0, 1, 2]);
  });

  it('lets every item run, then rethrows the first failure', async () => {
    const ran: string[] = [];
    await expect(
      runPool(['a', 'b', 'c'], 2, async (item) => {
        ran.push(item);
        await Promise.resolve();
        if (item !== 'c') throw new Error(`failed ${item}`);
      }),
    ).rejects.toThrow('failed a');
    expect(ran).toEqual(['a', 'b', 'c']);
  });
});
