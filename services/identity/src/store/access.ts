/**
 * Access snapshots for the Authorize hot path: a reader's door and the holders of a presented
 * credential, loaded from Postgres and cached in process and in Redis under the current access
 * generation (src/store/generation.ts). When Redis cannot be reached the snapshots are read from
 * Postgres directly: slower, never stale.
 */
import type { Cache } from '@anfang/platform/cache';
import type { Pool } from '@anfang/platform/pg';
import type { CredentialKind } from '../domain/credentials.ts';
import {
  presenceKey,
  type Candidate,
  type CredentialView,
  type DoorDirection,
  type DoorView,
  type GrantRole,
  type Holder,
  type Schedule,
} from '../domain/decision.ts';
import type { Generation } from './generation.ts';

export interface DoorSnapshot extends DoorView {
  readonly kind: 'compound_gate' | 'unit_door' | 'car_park';
  readonly addressCode: string;
}

export interface CredentialSnapshot extends CredentialView {
  readonly kind: CredentialKind;
  readonly masked: string;
  readonly pinHash: string | null;
  readonly faceTemplateId: string | null;
}

export interface CandidateSnapshot extends Candidate {
  readonly credential: CredentialSnapshot;
}

export interface AccessSnapshots {
  door(deviceId: string): Promise<DoorSnapshot | undefined>;
  byLookup(lookupIdx: string): Promise<CandidateSnapshot[]>;
  byCredentialId(credentialId: string): Promise<CandidateSnapshot[]>;
}

export interface AccessSnapshotOptions {
  readonly pool: Pool;
  readonly cache: Cache;
  readonly generation: Generation;
  /** Redis entries expire after this; the in-process copy is dropped as often. */
  readonly ttlMs: number;
  readonly localEntries: number;
}

/** Enough history to explain a refusal; a credential value is reissued rarely. */
const CANDIDATE_LIMIT = 8;

const ms = (value: Date | null): number | null => (value ? value.getTime() : null);

interface CredentialRow {
  credential_id: string;
  kind: CredentialKind;
  masked: string;
  pin_hash: string | null;
  face_template_id: string | null;
  valid_from: Date | null;
  valid_to: Date | null;
  revoked_at: Date | null;
  person_id: string | null;
  person_removed_at: Date | null;
  grants:
    | {
        grant_id: string;
        door_group_id: string;
        role: GrantRole;
        valid_from: string;
        valid_to: string | null;
        revoked_at: string | null;
        schedule: Schedule | null;
      }[]
    | null;
  pass_id: string | null;
  pass_door_ids: string[] | null;
  pass_valid_from: Date | null;
  pass_valid_to: Date | null;
  pass_checked_out_at: Date | null;
}

const CANDIDATE_SQL = `
  SELECT c.credential_id, c.kind, c.masked, c.pin_hash, c.face_template_id, c.valid_from, c.valid_to,
         c.revoked_at, c.person_id, p.removed_at AS person_removed_at,
         (SELECT json_agg(json_build_object('grant_id', g.grant_id, 'door_group_id', g.door_group_id,
                   'role', g.role, 'valid_from', g.valid_from, 'valid_to', g.valid_to,
                   'revoked_at', g.revoked_at, 'schedule', g.schedule))
            FROM grants g WHERE g.person_id = c.person_id) AS grants,
         c.pass_id, vp.door_ids AS pass_door_ids, vp.valid_from AS pass_valid_from,
         vp.valid_to AS pass_valid_to, vp.checked_out_at AS pass_checked_out_at
    FROM credentials c
    LEFT JOIN persons p ON p.person_id = c.person_id
    LEFT JOIN visitor_passes vp ON vp.pass_id = c.pass_id`;

const time = (value: string | null): number | null => (value === null ? null : new Date(value).getTime());

function toCandidate(row: CredentialRow): CandidateSnapshot {
  const credential: CredentialSnapshot = {
    credentialId: row.credential_id,
    kind: row.kind,
    masked: row.masked,
    pinHash: row.pin_hash,
    faceTemplateId: row.face_template_id,
    validFrom: ms(row.valid_from),
    validTo: ms(row.valid_to),
    revokedAt: ms(row.revoked_at),
  };
  const holder: Holder = row.person_id
    ? {
        kind: 'person',
        personId: row.person_id,
        removed: row.person_removed_at !== null,
        grants: (row.grants ?? []).map((g) => ({
          grantId: g.grant_id,
          doorGroupId: g.door_group_id,
          role: g.role,
          validFrom: time(g.valid_from)!,
          validTo: time(g.valid_to),
          revokedAt: time(g.revoked_at),
          schedule: g.schedule,
        })),
      }
    : {
        kind: 'pass',
        passId: row.pass_id!,
        doorIds: row.pass_door_ids ?? [],
        validFrom: row.pass_valid_from!.getTime(),
        validTo: row.pass_valid_to!.getTime(),
        checkedOutAt: ms(row.pass_checked_out_at),
      };
  return { credential, holder };
}

export function loadDoor(pool: Pool, deviceId: string): Promise<DoorSnapshot | undefined> {
  return pool
    .query<{
      door_id: string;
      compound_id: string;
      kind: DoorSnapshot['kind'];
      address_code: string;
      direction: DoorDirection;
      groups: string[];
      anti_passback_groups: string[];
    }>(
      `SELECT d.door_id, d.compound_id, d.kind, d.address_code, d.direction,
              coalesce(array_agg(gd.door_group_id::text) FILTER (WHERE gd.door_group_id IS NOT NULL), '{}') AS groups,
              coalesce(array_agg(gd.door_group_id::text) FILTER (WHERE g.anti_passback), '{}') AS anti_passback_groups
         FROM door_devices dd JOIN doors d ON d.door_id = dd.door_id
         LEFT JOIN door_group_doors gd ON gd.door_id = d.door_id
         LEFT JOIN door_groups g ON g.door_group_id = gd.door_group_id
        WHERE dd.device_id = $1
        GROUP BY d.door_id`,
      [deviceId],
    )
    .then(({ rows: [row] }) =>
      row
        ? {
            doorId: row.door_id,
            compoundId: row.compound_id,
            kind: row.kind,
            addressCode: row.address_code,
            doorGroupIds: row.groups,
            direction: row.direction,
            antiPassbackGroupIds: row.anti_passback_groups,
          }
        : undefined,
    );
}

export async function loadCandidates(
  pool: Pool,
  by: { lookupIdx: string } | { credentialId: string },
): Promise<CandidateSnapshot[]> {
  const [where, value] =
    'lookupIdx' in by ? ['c.lookup_idx = $1', by.lookupIdx] : ['c.credential_id = $1', by.credentialId];
  const { rows } = await pool.query<CredentialRow>(
    `${CANDIDATE_SQL} WHERE ${where} ORDER BY c.created_at DESC LIMIT ${CANDIDATE_LIMIT}`,
    [value],
  );
  return rows.map(toCandidate);
}

export function createAccessSnapshots(options: AccessSnapshotOptions): AccessSnapshots {
  const { pool, cache, generation, ttlMs, localEntries } = options;
  let localGeneration = '';
  let localSince = 0;
  const local = new Map<string, unknown>();

  async function cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    let token: string;
    try {
      token = await generation.current();
    } catch {
      return load();
    }
    const now = Date.now();
    if (token !== localGeneration || now - localSince > ttlMs) {
      local.clear();
      localGeneration = token;
      localSince = now;
    }
    if (local.has(key)) return local.get(key) as T;
    const remoteKey = `access:${token}:${key}`;
    const raw = await cache.get(remoteKey).catch(() => null);
    let value: T;
    if (raw !== null) value = JSON.parse(raw) as T;
    else {
      value = await load();
      // A lost write only costs another load.
      await cache.set(remoteKey, JSON.stringify(value ?? null), ttlMs).catch(() => undefined);
    }
    // Only under the token this load was read for: a newer token must not inherit older rows.
    if (localGeneration === token) {
      if (local.size >= localEntries) local.delete(local.keys().next().value!);
      local.set(key, value);
    }
    return value;
  }

  return {
    door: async (deviceId) =>
      (await cached(`door2:${deviceId}`, () => loadDoor(pool, deviceId))) ?? undefined,
    byLookup: (lookupIdx) => cached(`lookup:${lookupIdx}`, () => loadCandidates(pool, { lookupIdx })),
    byCredentialId: (credentialId) =>
      cached(`credential:${credentialId}`, () => loadCandidates(pool, { credentialId })),
  };
}

/**
 * Where each of the persons is in each anti-passback group, from passes recorded since
 * `notBefore` (older passes are forgotten: a missed exit does not lock a resident out for good).
 * Never cached: it changes with every pass.
 */
export async function loadPresence(
  pool: Pool,
  personIds: readonly string[],
  doorGroupIds: readonly string[],
  notBefore: Date,
): Promise<Map<string, boolean>> {
  const presence = new Map<string, boolean>();
  if (personIds.length === 0 || doorGroupIds.length === 0) return presence;
  const { rows } = await pool.query<{ person_id: string; door_group_id: string; inside: boolean }>(
    `SELECT person_id, door_group_id, inside FROM presence
      WHERE person_id = ANY($1::uuid[]) AND door_group_id = ANY($2::uuid[]) AND changed_at >= $3`,
    [personIds, doorGroupIds, notBefore],
  );
  for (const row of rows) presence.set(presenceKey(row.person_id, row.door_group_id), row.inside);
  return presence;
}
