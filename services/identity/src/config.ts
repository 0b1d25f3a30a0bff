/**
 * identity's configuration: the platform fragments plus its own keys, parsed once. The only
 * file of the service that reads the environment (src/service.ts hands it over).
 */
import { callerAuthEnv } from '@anfang/platform/auth';
import {
  busEnv,
  cacheEnv,
  composeEnv,
  databaseEnv,
  envFragment,
  loadConfig,
  secret,
  serviceEnv,
  telemetryEnv,
  z,
  type Env,
} from '@anfang/platform/config';
import { cryptoEnv } from '@anfang/platform/crypto';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const identityEnv = envFragment({
  /**
   * HMAC keys of mobile QR tokens, comma-separated (the first signs, all verify; ≥ 32
   * characters each). When unset they are derived from BLIND_INDEX_KEY.
   */
  IDENTITY_QR_KEYS: secret(
    z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((k) => k.trim())
          .filter(Boolean),
      )
      .refine(
        (keys) => keys.length > 0 && keys.every((k) => k.length >= 32),
        'every key at least 32 characters',
      )
      .optional(),
  ),
  /** Lifetime of a mobile QR token: a photographed code stops working after it. */
  IDENTITY_QR_TTL_SECONDS: positiveInt(60),
  /** Consecutive refusals at one reader that raise an access alarm. */
  IDENTITY_FAILURE_ALARM_THRESHOLD: positiveInt(5),
  /** Local time for grant schedules is UTC plus this (China Standard Time: 480, no DST). */
  IDENTITY_UTC_OFFSET_MINUTES: z.coerce.number().int().min(-720).max(840).default(480),
  /**
   * A pass recorded longer ago than this no longer counts for anti-passback, so a resident who
   * left behind someone else (no exit recorded) is not locked out for good.
   */
  IDENTITY_ANTI_PASSBACK_RESET_HOURS: positiveInt(12),
  /** Access snapshots kept in Redis at most this long (bounds staleness if an invalidation is lost). */
  IDENTITY_CACHE_TTL_MS: positiveInt(300_000),
  /** Access snapshots kept in process, per replica. */
  IDENTITY_LOCAL_CACHE_ENTRIES: positiveInt(200_000),
  /** Visitors' personal data (passes, names, ID and phone numbers) are deleted this long after their last visit ended. */
  IDENTITY_VISITOR_RETENTION_DAYS: positiveInt(90),
  /**
   * Stored access records are deleted this long after the pass (SPEC §5: no longer than needed;
   * at least 30 days, so that an incident reported late can still be traced).
   */
  IDENTITY_ACCESS_RECORD_RETENTION_DAYS: z.coerce.number().int().min(30).default(180),
  /** How often the visitor and access-record retention sweeps run. */
  IDENTITY_RETENTION_SWEEP_MS: positiveInt(3_600_000),
  /**
   * How often readers' offline allow lists are brought up to date when no access change woke the
   * sync (a change in this replica wakes it at once; other replicas' changes wait for this).
   */
  IDENTITY_ACCESS_LIST_SYNC_MS: positiveInt(5_000),
  /** Every compound's lists are recomputed this often, a safety net behind the change marks. */
  IDENTITY_ACCESS_LIST_FULL_SYNC_MS: positiveInt(86_400_000),
  /** Entries per access-list command (one Kafka message). */
  IDENTITY_ACCESS_LIST_CHUNK: z.coerce.number().int().min(1).max(2_000).default(500),
  /** Floating-population permits lapsing within this many days are listed as due by default. */
  IDENTITY_PERMIT_REMINDER_DAYS: positiveInt(30),
});

export const configSchema = composeEnv(
  serviceEnv,
  telemetryEnv,
  busEnv,
  databaseEnv,
  cacheEnv,
  // DATA_KEYS encrypts ID and phone numbers; BLIND_INDEX_KEY (required here) finds them.
  cryptoEnv,
  callerAuthEnv,
  identityEnv,
);

export type Config = z.output<typeof configSchema> & { readonly BLIND_INDEX_KEY: Buffer };

export function loadIdentityConfig(env: Env, exitOnError: boolean): Config {
  const config = loadConfig(configSchema, { env, exitOnError });
  // Lookups by ID number, phone and credential are impossible without it: fail at start.
  if (!config.BLIND_INDEX_KEY)
    throw new Error('identity: BLIND_INDEX_KEY (or BLIND_INDEX_KEY_FILE) is required');
  return { ...config, BLIND_INDEX_KEY: config.BLIND_INDEX_KEY };
}
