import type { Writable } from 'node:stream';
import type { RunEvent, TableRef } from '../report/events.js';
import {
  resultLine,
  resumeLine,
  retryLine,
  snapshotLostLine,
  ledgerLine,
  preparedSettledLine,
  waitingLine,
} from '../report/audit-lines.js';
import { formatDuration, formatMegabytes, formatRate } from '../report/format.js';
import { printable, printed } from '../report/printable.js';

interface Running {
  readonly ref: TableRef;
  /** The plan's size of the source table: progress is bytes against it (rows are counted at the end). */
  readonly estimatedBytes: number;
  bytes: number;
  seconds: number;
}

const BAR_WIDTH = 30;
const key = (ref: TableRef): string => `${ref.target}\0${ref.table}`;

/**
 * A live line cut to fit the terminal: a line that wraps takes two rows, and the redraw, which
 * moves up one row per line, would then leave stale rows behind. One column stays free because
 * some terminals wrap when the last column is written.
 */
export function fitToWidth(line: string, columns: number | undefined): string {
  if (columns === undefined || columns < 2) return line;
  const chars = Array.from(line);
  return chars.length < columns ? line : `${chars.slice(0, columns - 2).join('')}…`;
}

/**
 * Renders run events on stderr. On a TTY: a live line per running table and an overall bar, redrawn
 * in place. Otherwise: one line when a table starts and one when it ends.
 */
export class ProgressRenderer {
  private readonly running = new Map<string, Running>();
  private total = 0;
  private finished = 0;
  private drawnLines = 0;
  private timer: NodeJS.Timeout | undefined;

  /** `out.columns` (a TTY's width) is read at each redraw, so a resized terminal is followed. */
  constructor(
    private readonly out: Writable & { columns?: number },
    private readonly tty: boolean,
  ) {}

  readonly onEvent = (event: RunEvent): void => {
    switch (event.type) {
      case 'run-start':
        this.print(printable(`Run ${event.runId}: ${event.pairs} table(s)`));
        this.total = event.pairs;
        if (this.tty) this.timer = setInterval(() => this.draw(), 200).unref();
        break;
      case 'table-start':
        this.running.set(key(event.ref), {
          ref: event.ref,
          estimatedBytes: event.estimatedBytes,
          bytes: 0,
          seconds: 0,
        });
        if (!this.tty)
          this.out.write(
            printed`started ${event.ref.target}.${event.ref.table} (${event.mode}, ${event.format})\n`,
          );
        break;
      case 'table-progress': {
        const r = this.running.get(key(event.ref));
        if (r) Object.assign(r, { bytes: event.bytes, seconds: event.seconds });
        break;
      }
      case 'table-retry':
        this.print(printable(retryLine(event)));
        break;
      case 'snapshot-lost':
        this.print(printable(snapshotLostLine(event)));
        break;
      case 'prepared-settled':
        this.print(printable(preparedSettledLine(event)));
        break;
      case 'ledger':
        // Only what changes the run: no ledger, or tables this run id already committed.
        if (!event.available || event.committed > 0) this.print(printable(ledgerLine(event)));
        break;
      case 'table-resume':
        this.print(printable(resumeLine(event)));
        break;
      case 'table-waiting':
        this.print(printable(waitingLine(event)));
        break;
      case 'table-done':
      case 'table-failed':
        this.running.delete(key(event.result));
        this.finished += 1;
        this.print(printable(resultLine(event.result)));
        break;
      case 'run-end':
        this.stop();
        break;
      default:
        break;
    }
  };

  /** A finished table's line goes above the live block. */
  private print(line: string): void {
    if (!this.tty) {
      this.out.write(`${line}\n`);
      return;
    }
    this.clear();
    this.out.write(`${line}\n`);
    this.draw();
  }

  private clear(): void {
    if (this.drawnLines > 0) this.out.write(`\x1b[${this.drawnLines}A\x1b[0J`);
    this.drawnLines = 0;
  }

  private draw(): void {
    if (!this.tty) return;
    this.clear();
    const lines: string[] = [];
    let partial = 0;
    for (const r of this.running.values()) {
      // The estimate is the table's size on disk, not its COPY data: a guide, capped below 100%.
      const rate = r.seconds > 0 ? r.bytes / r.seconds : 0;
      const fraction = r.estimatedBytes > 0 ? Math.min(r.bytes / r.estimatedBytes, 0.99) : 0;
      partial += fraction;
      const eta =
        rate > 0 && r.estimatedBytes > r.bytes
          ? formatDuration((r.estimatedBytes - r.bytes) / rate)
          : '-';
      const percent = r.estimatedBytes > 0 ? `~${Math.round(fraction * 100)}%  ` : '';
      lines.push(
        `  ${printable(`${r.ref.target}.${r.ref.table}`)}  ${percent}${formatMegabytes(r.bytes)} MB  ${formatRate(r.bytes, r.seconds)} MB/s  ETA ${eta}`,
      );
    }
    const done = this.total > 0 ? (this.finished + partial) / this.total : 0;
    const filled = Math.round(done * BAR_WIDTH);
    lines.push(
      `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${Math.round(done * 100)}%  ${this.finished}/${this.total} tables`,
    );
    this.out.write(lines.map((line) => fitToWidth(line, this.out.columns)).join('\n') + '\n');
    this.drawnLines = lines.length;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
  }
}
