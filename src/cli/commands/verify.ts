import { ConfigError } from '../../errors.js';
import { printableJson } from '../../report/printable.js';
import { renderVerify } from '../../verify/render-verify.js';
import { verifyTables } from '../../verify/verify-tables.js';
import { loadCommandConfig } from '../load-command-config.js';
import { EXIT, type CliIo } from '../io.js';
import { VERSION } from '../../version.js';
import { parseCommandArgs } from '../parse-args.js';
import { COMMAND_OPTIONS } from '../command-options.js';

/** `pgcopy verify -c FILE [--target NAME]... [--table NAME]... [--json]`: exit 1 on any mismatch. */
export async function verifyCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, COMMAND_OPTIONS.verify);
  if (positionals.length > 0)
    throw new ConfigError(`usage: unexpected argument "${positionals[0] ?? ''}"`);
  const config = await loadCommandConfig(values.config, io);
  const report = await verifyTables(config, {
    filters: { targets: values.target, tables: values.table },
    ...(io.signal ? { signal: io.signal } : {}),
    deps: { env: io.env, trace: io.trace },
  });
  io.stdout.write(
    values.json ? printableJson({ version: VERSION, ...report }) + '\n' : renderVerify(report),
  );
  io.signal?.throwIfAborted();
  return report.status === 'match' ? EXIT.OK : EXIT.FAILED;
}
