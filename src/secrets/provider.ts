/** Fetches raw secret strings by id. Implementations: AWS Secrets Manager, a JSON file, the environment. */
export interface SecretsProvider {
  /**
   * Returns the SecretString of every id that exists; ids that do not exist are absent from the map.
   * Other failures (access denied, throttling after retries) throw a SecretError naming the id.
   */
  fetch(ids: readonly string[], options?: { signal?: AbortSignal }): Promise<Map<string, string>>;
  /** Releases what the provider created (the AWS client's sockets); safe to call twice. */
  close?(): void;
}
