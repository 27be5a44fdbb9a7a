import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { stringify } from 'yaml';
import { endpointOf } from './config.js';
import { servers, sql, tableDigest, uniqueName } from './db.js';

export interface ProcessResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end without blocking the event loop (spawnSync would stall the worker). */
export function runProcess(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

/** The same, failing with the command's own output when it exits non-zero. */
export async function mustRun(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  const result = await runProcess(command, args, options);
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.code}:\n${result.stderr}`);
  }
  return result.stdout;
}

const ROWS = 500;

/**
 * One source table and, for each run of an installed pgcopy, a target schema of its own on
 * target1: the copy an installed command must make (several column types, a mixed-case schema).
 */
export class InstalledCopyFixture {
  private readonly targetSchemas: string[] = [];

  private constructor(readonly schema: string) {}

  static async create(prefix: string): Promise<InstalledCopyFixture> {
    const fixture = new InstalledCopyFixture(uniqueName(prefix));
    await sql(
      servers().source,
      `CREATE SCHEMA "${fixture.schema}";
       ${fixture.tableDdl()}
       INSERT INTO "${fixture.schema}".items
         SELECT g, 'item ' || g, timestamptz '2026-01-01 00:00+00' + g * interval '1 minute',
                g * 1.25, jsonb_build_object('n', g)
         FROM generate_series(1, ${ROWS}) g;`,
    );
    return fixture;
  }

  private tableDdl(schema = this.schema): string {
    return `CREATE TABLE "${schema}".items (
      id int PRIMARY KEY, name text, at timestamptz, amount numeric(12, 2), doc jsonb);`;
  }

  /** Writes DIR/pgcopy.yaml copying the source table into a new target schema; returns its path. */
  async writeConfig(dir: string, label: string): Promise<{ file: string; targetSchema: string }> {
    const s = servers();
    const targetSchema = `${this.schema}_${label}`;
    this.targetSchemas.push(targetSchema);
    await sql(s.target1, `CREATE SCHEMA "${targetSchema}"; ${this.tableDdl(targetSchema)}`);
    const file = join(dir, `pgcopy-${label}.yaml`);
    await writeFile(
      file,
      stringify({
        source: endpointOf(s.source, this.schema),
        targets: [{ name: 'db_1', ...endpointOf(s.target1, targetSchema), tables: ['items'] }],
      }),
    );
    return { file, targetSchema };
  }

  /** The target table holds exactly the source's rows. */
  async expectCopied(targetSchema: string): Promise<void> {
    const s = servers();
    const query = (schema: string): string => `SELECT * FROM "${schema}".items`;
    const source = await tableDigest(s.source, query(this.schema));
    expect(source.count).toBe(ROWS);
    expect(await tableDigest(s.target1, query(targetSchema))).toEqual(source);
  }

  async drop(): Promise<void> {
    const s = servers();
    await sql(s.source, `DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`);
    for (const schema of this.targetSchemas) {
      await sql(s.target1, `DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
  }
}
