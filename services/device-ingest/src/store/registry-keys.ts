/**
 * Where the data key ring comes from. Production: DATA_KEYS (a Secret). A development install
 * started without it (`./anfang start`) gets a key generated once and kept in this database
 * (migration 0002), so that it works out of the box and its secrets survive restarts — with a
 * warning at every start, because a key beside the data protects nothing against a leak of it.
 */
import {
  createFieldCipher,
  decodeKey,
  generateKey,
  type DataKey,
  type FieldCipher,
} from '@anfang/platform/crypto';
import type { Logger } from '@anfang/platform/log';
import type { Pool } from '@anfang/platform/pg';

const GENERATED_KEY_ID = 'generated';

export async function loadFieldCipher(
  pool: Pool,
  configured: readonly DataKey[] | undefined,
  logger: Logger,
): Promise<FieldCipher> {
  const { rows } = await pool.query<{ key_id: string; key_base64: string }>(
    'SELECT key_id, key_base64 FROM generated_data_key ORDER BY created_at',
  );
  const generated = rows.map((r) => ({ id: r.key_id, key: decodeKey(r.key_base64) }));
  if (configured && configured.length > 0) {
    // Secrets written before DATA_KEYS was set stay readable until they are rotated.
    const extra = generated.filter((g) => !configured.some((c) => c.id === g.id));
    if (extra.length > 0)
      logger.warn(
        { keyIds: extra.map((k) => k.id) },
        'generated data keys still in the database: rotate device secrets, then delete them from generated_data_key',
      );
    return createFieldCipher([...extra, ...configured]);
  }
  if (generated.length === 0) {
    await pool.query(
      'INSERT INTO generated_data_key (key_id, key_base64) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [GENERATED_KEY_ID, generateKey()],
    );
    return loadFieldCipher(pool, configured, logger);
  }
  logger.warn(
    'DATA_KEYS is not set: device secrets are encrypted with a key generated into the service database (development only; set DATA_KEYS in production)',
  );
  return createFieldCipher(generated);
}
