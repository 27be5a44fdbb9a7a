import { describe, expect, it } from 'vitest';
import { formatLsn, minLsn, parseLsn } from '../../src/sync/lsn.js';
import {
  movePositionsSql,
  positionKey,
  seedSql,
  createSyncStateSql,
} from '../../src/sync/sync-state.js';

describe('WAL positions', () => {
  it('parses and prints PostgreSQL X/Y positions', () => {
    expect(parseLsn('16/B374D848')).toBe(0x16b374d848n);
    expect(parseLsn('0/0')).toBe(0n);
    expect(parseLsn('ffffffff/ffffffff')).toBe(0xffff_ffff_ffff_ffffn);
    expect(formatLsn(0x16b374d848n)).toBe('16/B374D848');
    expect(formatLsn(0n)).toBe('0/0');
    expect(formatLsn(0x1_0000_0000n)).toBe('1/0');
    for (const text of ['0/1', 'A/0', '16/B374D848', 'FFFFFFFF/FFFFFFFF']) {
      expect(formatLsn(parseLsn(text))).toBe(text);
    }
  });

  it('orders positions as numbers, not as text', () => {
    expect(parseLsn('9/0') < parseLsn('10/0')).toBe(true);
    expect(parseLsn('0/FFFFFFFF') < parseLsn('1/0')).toBe(true);
    expect(minLsn(parseLsn('1/0'), parseLsn('0/FF'))).toBe(0xffn);
    expect(minLsn(undefined, 5n)).toBe(5n);
    expect(minLsn(5n, undefined)).toBe(5n);
  });

  it('refuses what is not a position', () => {
    for (const text of ['', '16', '16/', '/1', 'G/0', '123456789/0', '1/2/3', '-1/0']) {
      expect(() => parseLsn(text), text).toThrow(/not a WAL position/);
    }
    expect(() => formatLsn(-1n)).toThrow(RangeError);
    expect(() => formatLsn(1n << 64n)).toThrow(RangeError);
  });
});

describe('sync_state SQL', () => {
  it('quotes every name and writes positions as pg_lsn', () => {
    expect(createSyncStateSql('my "ledger"', true)).toContain(
      'CREATE SCHEMA IF NOT EXISTS "my ""ledger"""',
    );
    expect(createSyncStateSql('pgcopy', false)).not.toContain('CREATE SCHEMA');
    const move = movePositionsSql('pgcopy', "it's", [{ schema: 'a', table: 'b' }], 0x1_0000_00ffn);
    expect(move).toContain("applied_lsn = '1/FF'::pg_lsn");
    expect(move).toContain("slot = 'it''s'");
    expect(move).toContain("IN (('a', 'b'))");
    expect(movePositionsSql('pgcopy', 's', [], 1n)).toBeUndefined();
    expect(seedSql('pgcopy', 's', { schema: 'a', table: 'b' }, 16n)).toContain('DO NOTHING');
    expect(seedSql('pgcopy', 's', { schema: 'a', table: 'b' }, 16n, { replace: true })).toContain(
      'DO UPDATE',
    );
  });

  it('keys positions so that dotted names never collide', () => {
    expect(positionKey('a.b', 'c')).not.toBe(positionKey('a', 'b.c'));
  });
});
