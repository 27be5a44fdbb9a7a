import { ConnectError, describeError } from '../errors.js';
import type { ConnectionSpec } from './connection-spec.js';

/** Makes the RDS IAM token that logs `user` in to `host:port` (a password for 15 minutes). */
export type IamTokenSigner = (target: {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly region: string;
}) => Promise<string>;

/**
 * The AWS SDK's signer, with the credentials of the run (environment, profile, role). Loaded only
 * by an `auth: iam` endpoint: other runs start without the SDK's import cost.
 */
export const rdsIamToken: IamTokenSigner = async ({ host, port, user, region }) => {
  const { Signer } = await import('@aws-sdk/rds-signer');
  return new Signer({ hostname: host, port, username: user, region }).getAuthToken();
};

/**
 * The password of an `auth: iam` endpoint: a new token for each connection, signed for the
 * database's own host and port (never a tunnel's local address), which is what RDS checks.
 */
export async function iamPassword(spec: ConnectionSpec, sign: IamTokenSigner): Promise<string> {
  if (spec.region === undefined) {
    throw new ConnectError(spec.name, `${spec.name}: auth: iam needs a region`);
  }
  try {
    return await sign({ host: spec.host, port: spec.port, user: spec.user, region: spec.region });
  } catch (error) {
    throw new ConnectError(
      spec.name,
      `${spec.name}: cannot make an RDS IAM token (AWS credentials?): ${describeError(error)}`,
      { cause: error },
    );
  }
}
