import type { WriteStream } from 'node:fs';
import { openLogFile } from '../operator-files.js';
import { join } from 'node:path';
import { asciiMarkers } from './ascii-markers.js';
import { auditLine } from './audit-lines.js';
import type { RunEvent } from './events.js';
import { fileStamp, lineStamp } from './format.js';
import { printable } from './printable.js';

/** Runs started in the same second get `_2`, `_3`... rather than sharing (and mixing) one file. */
const MAX_RUNS_PER_SECOND = 100;

/**
 * Writes `<logDir>/audit_YYYYMMDD_HHMMSS.log` (`..._N.log` when that run second is taken): one
 * timestamped line per event worth keeping. Each run has a file of its own.
 */
export class AuditFile {
  readonly path: string;
  private readonly stream: WriteStream;
  private failure: Error | undefined;

  constructor(
    logDir: string,
    private readonly now: () => Date = () => new Date(),
    key = 'options.logDir',
    /** `--ascii`: the markers in ASCII; by default the log keeps its emoji whatever the locale. */
    private readonly ascii = false,
  ) {
    const stamp = fileStamp(now());
    let opened: { path: string; stream: WriteStream } | undefined;
    for (let n = 1; !opened; n += 1) {
      const path = join(logDir, `audit_${stamp}${n === 1 ? '' : `_${n}`}.log`);
      const stream = openLogFile(key, logDir, path, n < MAX_RUNS_PER_SECOND);
      if (stream) opened = { path, stream };
    }
    this.path = opened.path;
    this.stream = opened.stream;
    // A write that fails later (disk full) must not crash the process; close() reports it.
    this.stream.on('error', (error) => (this.failure ??= error));
  }

  /** One line; text from a database or the config is escaped so it cannot forge a line. */
  write(text: string): void {
    const line = printable(this.ascii ? asciiMarkers(text) : text);
    this.stream.write(`${lineStamp(this.now())} ${line}\n`);
  }

  readonly onEvent = (event: RunEvent): void => {
    const line = auditLine(event);
    if (line !== undefined) this.write(line);
  };

  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.stream.end(() => (this.failure ? reject(this.failure) : resolve()));
    });
  }
}
