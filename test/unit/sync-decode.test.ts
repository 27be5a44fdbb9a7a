import { describe, expect, it } from 'vitest';
import { BinaryCopyRows } from '../../src/copy/wire/binary-copy-rows.js';
import { SyncError } from '../../src/errors.js';
import { PgoutputDecoder } from '../../src/sync/pgoutput.js';
import { mappingsFor } from '../../src/sync/mappings.js';
import { UNCHANGED_TOAST } from '../../src/sync/types.js';
import type { Plan } from '../../src/plan/types.js';
import { tablePlan } from '../support/table-plan.js';

/** A message built field by field, as pgoutput writes them (big-endian). */
function message(
  type: string,
  ...fields: (Buffer | string | ['i8' | 'i16' | 'i32' | 'i64', number | bigint])[]
): Buffer {
  const parts: Buffer[] = [Buffer.from(type)];
  for (const field of fields) {
    if (Buffer.isBuffer(field)) parts.push(field);
    else if (typeof field === 'string') parts.push(Buffer.from(`${field}\0`));
    else {
      const [kind, value] = field;
      const size = { i8: 1, i16: 2, i32: 4, i64: 8 }[kind];
      const b = Buffer.alloc(size);
      if (kind === 'i8') b.writeUInt8(Number(value));
      else if (kind === 'i16') b.writeInt16BE(Number(value));
      else if (kind === 'i32') b.writeInt32BE(Number(value));
      else b.writeBigInt64BE(BigInt(value));
      parts.push(b);
    }
  }
  return Buffer.concat(parts);
}

const text = (value: string): Buffer =>
  Buffer.concat([
    Buffer.from('t'),
    Buffer.from([0, 0, 0, Buffer.byteLength(value)]),
    Buffer.from(value),
  ]);

function relation(decoder: PgoutputDecoder): void {
  decoder.decode(
    message(
      'R',
      ['i32', 7],
      '',
      'T',
      ['i8', 'f'.charCodeAt(0)],
      ['i16', 2],
      ['i8', 1],
      'id',
      ['i32', 23],
      ['i32', -1],
      ['i8', 0],
      'big',
      ['i32', 25],
      ['i32', -1],
    ),
  );
}

describe('pgoutput decoding', () => {
  it('decodes every message kind of protocol 1', () => {
    const decoder = new PgoutputDecoder();
    expect(
      decoder.decode(message('B', ['i64', 0x1_0000_0010n], ['i64', 1_000_000n], ['i32', 42])),
    ).toEqual({
      kind: 'begin',
      begin: { commitLsn: 0x1_0000_0010n, commitTime: new Date(946_684_801_000), xid: 42 },
    });
    relation(decoder);
    const tuple = Buffer.concat([Buffer.from([0, 2]), text('1'), Buffer.from('u')]);
    const update = decoder.decode(
      message(
        'U',
        ['i32', 7],
        Buffer.from('O'),
        Buffer.concat([Buffer.from([0, 2]), text('1'), Buffer.from('n')]),
        Buffer.from('N'),
        tuple,
      ),
    );
    expect(update).toMatchObject({
      kind: 'change',
      change: {
        kind: 'update',
        old: { kind: 'full', row: ['1', null] },
        row: ['1', UNCHANGED_TOAST],
      },
    });
    expect(decoder.decode(message('U', ['i32', 7], Buffer.from('N'), tuple))).toMatchObject({
      change: { kind: 'update', row: ['1', UNCHANGED_TOAST] },
    });
    expect(decoder.decode(message('D', ['i32', 7], Buffer.from('K'), tuple))).toMatchObject({
      change: { kind: 'delete', old: { kind: 'key' } },
    });
    expect(decoder.decode(message('T', ['i32', 1], ['i8', 3], ['i32', 7]))).toMatchObject({
      change: { kind: 'truncate', cascade: true, restartIdentity: true },
    });
    expect(decoder.decode(message('Y', ['i32', 16_500], 'public', 'mood'))).toEqual({
      kind: 'type',
      typeOid: 16_500,
      schema: 'public',
      name: 'mood',
    });
    expect(decoder.decode(message('O', ['i64', 5n], 'elsewhere'))).toEqual({
      kind: 'origin',
      lsn: 5n,
      name: 'elsewhere',
    });
    expect(
      decoder.decode(message('M', ['i8', 1], ['i64', 9n], 'prefix', ['i32', 2], Buffer.from('hi'))),
    ).toMatchObject({ kind: 'message', transactional: true, prefix: 'prefix' });
    expect(
      decoder.decode(message('C', ['i8', 0], ['i64', 16n], ['i64', 24n], ['i64', 0n])),
    ).toMatchObject({ kind: 'commit', commit: { commitLsn: 16n, endLsn: 24n } });
  });

  it('refuses what it cannot read, saying why', () => {
    const decoder = new PgoutputDecoder();
    expect(() => decoder.decode(Buffer.from('Z'))).toThrow(/unknown pgoutput message type 'Z'/);
    expect(() => decoder.decode(Buffer.alloc(0))).toThrow(SyncError);
    expect(() => decoder.decode(message('B', ['i32', 1]))).toThrow(/ends early/);
    expect(() => decoder.decode(message('I', ['i32', 99], Buffer.from('N')))).toThrow(
      /never described/,
    );
    expect(() =>
      decoder.decode(message('R', ['i32', 7], 's', 't', ['i8', 'x'.charCodeAt(0)], ['i16', 0])),
    ).toThrow(/replica identity 'x'/);
    relation(decoder);
    expect(() =>
      decoder.decode(message('I', ['i32', 7], Buffer.from('N'), Buffer.from([0, 1]), text('1'))),
    ).toThrow(/1 columns, its relation 2/);
    expect(() =>
      decoder.decode(
        message('I', ['i32', 7], Buffer.from('N'), Buffer.from([0, 2]), Buffer.from('bb')),
      ),
    ).toThrow(/value kind 'b'/);
    expect(() => decoder.decode(message('Y', ['i32', 1], 'no end'))).toThrow(/ends early/);
  });
});

describe('binary COPY rows', () => {
  const rows: [Buffer | null][] = [
    [Buffer.from('first')],
    [null],
    [Buffer.from('x'.repeat(300))],
    [Buffer.alloc(0)],
  ];
  const data = Buffer.concat([
    Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'),
    Buffer.from([0, 0, 0, 0, 0, 0, 0, 2, 0xaa, 0xbb]), // flags, an extension of 2 bytes
    ...rows.map(([field]) =>
      Buffer.concat([
        Buffer.from([0, 1]),
        field === null
          ? Buffer.from([0xff, 0xff, 0xff, 0xff])
          : Buffer.concat([Buffer.from([0, 0, field.length >> 8, field.length & 0xff]), field]),
      ]),
    ),
    Buffer.from([0xff, 0xff]),
  ]);

  it('gives the same rows wherever the pieces are cut', () => {
    for (const size of [1, 2, 3, 7, 64, data.length]) {
      const reader = new BinaryCopyRows();
      const got: (Buffer | null)[][] = [];
      for (let at = 0; at < data.length; at += size) {
        got.push(...reader.push(Buffer.from(data.subarray(at, at + size))));
      }
      expect(got, `pieces of ${size}`).toEqual(rows);
      expect(reader.ended).toBe(true);
    }
  });

  it('refuses data without the signature', () => {
    expect(() => new BinaryCopyRows().push(Buffer.alloc(40))).toThrow(/not binary COPY data/);
  });
});

describe('mappingsFor', () => {
  it('maps each written column from its source name, with the target facts the applier needs', () => {
    const plan: Plan = {
      sourceSchema: 'Src Schema',
      targets: [
        {
          name: 'one',
          schema: 'tgt',
          tables: [
            tablePlan({
              columns: ['id', 'title', 'n'],
              renamed: [{ source: 'name', target: 'title' }],
              targetKind: 'p',
              overridingSystemValue: true,
              identityAlways: ['id'],
            }),
            tablePlan({ sourceTable: 'broken', errors: ['no such table'] }),
          ],
        },
      ],
    };
    const [mapping, ...rest] = mappingsFor(plan, 'one', {
      insertOnly: (t) => t.sourceTable === 'Order Items',
    });
    expect(rest).toEqual([]);
    expect(mapping).toMatchObject({
      sourceSchema: 'Src Schema',
      sourceTable: 'Order Items',
      targetSchema: 'tgt"schema',
      targetTable: 'select',
      insertOnly: true,
      targetPartitioned: true,
      overridingSystemValue: true,
      identityAlways: ['id'],
    });
    expect([...(mapping?.columns ?? [])]).toEqual([
      ['id', 'id'],
      ['name', 'title'],
      ['n', 'n'],
    ]);
    expect(mappingsFor(plan, 'other')).toEqual([]);
  });
});
