/**
 * Platform passwords by reference: a file named `<ref>` in the secrets folder (a mounted
 * Kubernetes secret, re-read on every use so a rotation needs no restart), else the
 * POLICE_UPLOAD_SECRETS map. Never logged, never stored.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export type SecretResolver = (ref: string) => Promise<string | undefined>;

export function createSecretResolver(
  dir: string | undefined,
  fromEnv: Readonly<Record<string, string>>,
): SecretResolver {
  return async (ref) => {
    if (!/^[A-Za-z0-9._-]+$/.test(ref) || ref.startsWith('.')) return undefined;
    if (dir) {
      try {
        return (await readFile(join(dir, ref), 'utf8')).trim();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    return fromEnv[ref];
  };
}
