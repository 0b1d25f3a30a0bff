import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKey } from '@anfang/platform/crypto';

/**
 * The secrets a single-site install needs and nobody hands it: field-encryption keys for
 * personal data and device secrets, the key that signs caller tokens between services, and the gateway's bootstrap admin password. Generated once per install into files readable by the
 * owner only, and passed to services as `*_FILE` — the same way a Kubernetes Secret is mounted —
 * so that keys never sit in the database beside the data they protect.
 */
export async function ensureInstallSecrets(dataDir: string): Promise<Record<string, string>> {
  const dir = join(dataDir, 'secrets');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const dataKeys = await ensureSecretFile(join(dir, 'data-keys'), () => `k1:${generateKey()}`);
  const blindIndexKey = await ensureSecretFile(join(dir, 'blind-index-key'), generateKey);
  const callerTokenKey = await ensureSecretFile(join(dir, 'caller-token-key'), generateKey);
  // The gateway's first account (`admin`); its holder signs in and creates the others.
  const adminPassword = await ensureSecretFile(join(dir, 'gateway-admin-password'), () =>
    randomBytes(18).toString('base64url'),
  );
  return {
    DATA_KEYS_FILE: dataKeys,
    BLIND_INDEX_KEY_FILE: blindIndexKey,
    CALLER_TOKEN_KEY_FILE: callerTokenKey,
    GATEWAY_BOOTSTRAP_ADMIN_PASSWORD_FILE: adminPassword,
  };
}

async function ensureSecretFile(path: string, make: () => string): Promise<string> {
  if (existsSync(path)) return path;
  const temporary = `${path}.tmp-${process.pid}`;
  await writeFile(temporary, `${make()}\n`, { mode: 0o600 });
  await rename(temporary, path);
  return path;
}
