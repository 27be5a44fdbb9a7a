import type { WriteStream } from 'node:fs';
import { openLogFile } from '../operator-files.js';
import { join } from 'node:path';
import { auditLine } from './audit-lines.js';
import type { RunEvent } from './events.js';
import { fileStamp, lineStamp } from './format.js';

/** Writes `<logDir>/audit_YYYYMMDD_HHMMSS.log`: one timestamped line per event worth keeping. */
export class AuditFile {
  readonly path: string;
  private readonly stream: WriteStream;

  constructor(
    logDir: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.path = join(logDir, `audit_${fileStamp(now())}.log`);
    this.stream = openLogFile(logDir, this.path);
  }

  write(text: string): void {
    this.stream.write(`${lineStamp(this.now())} ${text}\n`);
  }

  readonly onEvent = (event: RunEvent): void => {
    const line = auditLine(event);
    if (line !== undefined) this.write(line);
  };

  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.stream.once('error', reject);
      this.stream.end(resolve);
    });
  }
}
