import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { CopyTee } from '../../src/copy/fanout/copy-tee.js';

/** A sink that takes each chunk after `delayMs`, keeping what it got. */
function sink(delayMs = 0): Writable & { got: Buffer[] } {
  const got: Buffer[] = [];
  const writable = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _encoding, callback) {
      got.push(chunk);
      setTimeout(callback, delayMs);
    },
  });
  return Object.assign(writable, { got });
}

const chunks = (n: number): Buffer[] =>
  Array.from({ length: n }, (_, i) => Buffer.from(`chunk ${i}\n`));

describe('CopyTee: one COPY stream into several outputs', () => {
  it('every output gets every chunk; the slowest sets the pace (nothing runs ahead of it)', async () => {
    const tee = new CopyTee(2);
    const fast = sink();
    const slow = sink(5);
    const fastIn = new PassThrough({ highWaterMark: 1 });
    const slowIn = new PassThrough({ highWaterMark: 1 });
    const done = [pipeline(fastIn, fast), pipeline(slowIn, slow)];
    const source = Readable.from(chunks(20));
    const reading = pipeline(source, tee);
    tee.attach(fastIn);
    await sleep(30);
    // Before the second output attaches, nothing is written.
    expect(fast.got).toHaveLength(0);
    tee.attach(slowIn);
    let most = 0;
    const gap = setInterval(() => (most = Math.max(most, fast.got.length - slow.got.length)), 1);
    await Promise.all([reading, ...done]);
    clearInterval(gap);
    expect(Buffer.concat(fast.got).toString()).toBe(Buffer.concat(chunks(20)).toString());
    expect(Buffer.concat(slow.got).toString()).toBe(Buffer.concat(chunks(20)).toString());
    expect(most).toBeLessThan(8);
  });

  it('an output that fails is detached and the others go on; when none is left the read fails', async () => {
    const tee = new CopyTee(3);
    const kept = sink();
    const keptIn = new PassThrough();
    const failing = new PassThrough().on('error', () => undefined);
    const keeping = pipeline(keptIn, kept);
    const reading = pipeline(Readable.from(chunks(5)), tee);
    tee.attach(keptIn);
    tee.attach(failing);
    failing.destroy(new Error('target failed'));
    tee.giveUp(); // the third never came
    await Promise.all([reading, keeping]);
    expect(kept.got).toHaveLength(5);

    const alone = new CopyTee(1);
    const lost = new PassThrough();
    const failed = pipeline(Readable.from(chunks(5)), alone);
    alone.attach(lost);
    lost.destroy();
    await expect(failed).rejects.toThrow('every target of the shared read has failed');
  });

  it('a failed read fails its outputs; one attaching afterwards fails at once', async () => {
    const tee = new CopyTee(2);
    const output = new PassThrough().on('error', () => undefined);
    tee.attach(output);
    const failure = new Error('source gone');
    const source = new Readable({ read() {} });
    const reading = pipeline(source, tee);
    source.destroy(failure);
    await expect(reading).rejects.toThrow('source gone');
    expect(output.destroyed).toBe(true);
    const late = new PassThrough().on('error', () => undefined);
    tee.attach(late);
    expect(late.destroyed).toBe(true);
  });

  it('an empty read ends its outputs; a tee expecting none writes at once', async () => {
    const tee = new CopyTee(1);
    const output = new PassThrough();
    const ended = new Promise((resolve) => output.on('finish', resolve));
    tee.attach(output);
    await pipeline(Readable.from([]), tee);
    await ended;
    const late = new PassThrough().on('error', () => undefined);
    tee.attach(late);
    expect(late.destroyed).toBe(true);

    const none = new CopyTee(0);
    await expect(pipeline(Readable.from(chunks(1)), none)).rejects.toThrow(/every target/);
  });
});
