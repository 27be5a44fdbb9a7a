import { SecretError } from '../errors.js';
import { readOperatorFile } from '../operator-files.js';
import type { SecretsProvider } from './provider.js';

export type ReadTextFile = (path: string, options: { signal?: AbortSignal }) => Promise<string>;

/** A missing or unreadable file is a ConfigError naming `secrets.file` and the path. */
const readSecretsFile: ReadTextFile = (path) => readOperatorFile('secrets.file', path);

/**
 * Secrets from a local JSON file mapping secret ids to what each secret would hold: a JSON object,
 * or a string holding the JSON text. For development and tests. The file is read on every fetch.
 */
export class FileSecretsProvider implements SecretsProvider {
  constructor(
    private readonly path: string,
    private readonly read: ReadTextFile = readSecretsFile,
  ) {}

  private async load(signal: AbortSignal | undefined): Promise<Map<string, unknown>> {
    let text: string;
    try {
      text = await this.read(this.path, signal ? { signal } : {});
    } finally {
      signal?.throwIfAborted();
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      // The SyntaxError quotes the file's text: neither it nor its message may travel further.
      throw new SecretError(`secrets file "${this.path}" is not valid JSON`);
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
      throw new SecretError(
        `secrets file "${this.path}" must be a JSON object mapping secret ids to secrets`,
      );
    }
    return new Map(Object.entries(doc));
  }

  async fetch(
    ids: readonly string[],
    options: { signal?: AbortSignal } = {},
  ): Promise<Map<string, string>> {
    options.signal?.throwIfAborted();
    const secrets = await this.load(options.signal);
    const found = new Map<string, string>();
    for (const id of ids) {
      const value = secrets.get(id);
      if (value === undefined) continue;
      found.set(id, typeof value === 'string' ? value : JSON.stringify(value));
    }
    return found;
  }
}
