/** Normalises a host-key fingerprint to `SHA256:<base64 without padding>`, as `ssh-keygen -lf` prints it. */
export function normalizeFingerprint(input: string): string | undefined {
  const body = input
    .trim()
    .replace(/^SHA256:/i, '')
    .replace(/=+$/, '');
  return /^[A-Za-z0-9+/]{43}$/.test(body) ? `SHA256:${body}` : undefined;
}
