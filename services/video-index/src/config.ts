/**
 * video-index's configuration: the platform fragments plus its own keys, parsed once. The only
 * file of the service that reads the environment (src/service.ts hands it over).
 */
import { callerAuthEnv } from '@anfang/platform/auth';
import {
  busEnv,
  composeEnv,
  databaseEnv,
  envFragment,
  loadConfig,
  objectsEnv,
  secret,
  serviceEnv,
  telemetryEnv,
  z,
  type Env,
} from '@anfang/platform/config';
import { MIN_RETENTION_DAYS } from './domain/classes.ts';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
/** The legal minimum is not a default one may lower: a smaller value stops the service at start. */
const retentionDays = z.coerce
  .number()
  .int()
  .min(MIN_RETENTION_DAYS, `at least ${MIN_RETENTION_DAYS} days (the legal minimum of back-end storage)`)
  .default(MIN_RETENTION_DAYS);

export const videoEnv = envFragment({
  /**
   * The object-store prefix (a service's folder in the bucket) whose images video-index governs:
   * device-ingest writes every device image there. Keys outside it are refused (DLQ).
   */
  VIDEO_MEDIA_PREFIX: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*$/, 'one folder name')
    .default('device-ingest'),
  /** Inside it, the folder of images (reconciliation lists it; quarantined payloads are elsewhere). */
  VIDEO_CAPTURES_FOLDER: z
    .string()
    .regex(/^[A-Za-z0-9._-]+\/$/, 'one folder ending with /')
    .default('captures/'),
  VIDEO_RETENTION_FACES_DAYS: retentionDays,
  VIDEO_RETENTION_VEHICLES_DAYS: retentionDays,
  VIDEO_RETENTION_ALARMS_DAYS: retentionDays,
  VIDEO_RETENTION_GENERAL_DAYS: retentionDays,
  /**
   * Expiry of the bucket lifecycle rule, the back-stop behind the sweep for objects the index
   * never learned of (raised to the longest retention + 30 days when a class is set longer).
   * It cannot see holds: 0 installs no rule, for sites whose holds outlast it.
   */
  VIDEO_LIFECYCLE_DAYS: z.coerce.number().int().min(0).default(365),
  /** Lifetime of the image URLs SearchImages returns. */
  VIDEO_URL_SECONDS: z.coerce.number().int().min(10).max(3600).default(300),
  /** Partitions of the source topics one replica handles at once: concurrent events share a write. */
  VIDEO_CONSUMER_CONCURRENCY: positiveInt(24),
  /** Most rows per index write. */
  VIDEO_INDEX_BATCH_ROWS: positiveInt(1000),
  /** How long a write waits for more rows after the first one arrives. */
  VIDEO_INDEX_LINGER_MS: z.coerce.number().int().min(0).default(5),
  /**
   * How often every compound's storage evidence (anfang.video.storage-evidence.v1) is published;
   * compliance-scoring stops counting evidence older than its freshness limit (default 30 min).
   */
  VIDEO_STORAGE_EVIDENCE_INTERVAL_MS: positiveInt(300_000),
  /** A camera or policy change is published this long after it, with the changes that follow it. */
  VIDEO_STORAGE_EVIDENCE_DEBOUNCE_MS: z.coerce.number().int().min(0).default(1_000),
  /** How often the retention sweep runs. */
  VIDEO_SWEEP_INTERVAL_MS: positiveInt(60_000),
  /** Objects deleted per batch (one DeleteObjects request, one transaction). */
  VIDEO_SWEEP_BATCH: z.coerce.number().int().min(1).max(1000).default(500),
  /** Pause between sweep batches, so expiry never starves live writes. */
  VIDEO_SWEEP_PAUSE_MS: z.coerce.number().int().min(0).default(20),
  /** How often the enricher asks the store for sizes nobody reported. */
  VIDEO_ENRICH_INTERVAL_MS: positiveInt(5_000),
  /** How often reconciliation runs on its own (it also runs on request). */
  VIDEO_RECONCILE_INTERVAL_MS: positiveInt(24 * 3600 * 1000),
  /** Objects younger than this are left alone by reconciliation: their event may be on its way. */
  VIDEO_RECONCILE_GRACE_SECONDS: z.coerce.number().int().min(0).default(900),
  /** What reconciliation does with an object the index does not know: index it from its key, or delete it. */
  VIDEO_ORPHAN_OBJECT_POLICY: z.enum(['index', 'delete']).default('index'),
  /** Directory object store (embedded mode): HMAC key of presigned URLs (≥ 32 bytes). */
  OBJECTS_SIGNING_SECRET: secret(z.string().min(32, 'at least 32 characters').optional()),
  /** S3: create the bucket when missing (local installs); the chart provisions it and sets false. */
  OBJECTS_CREATE_BUCKET: z.stringbool().default(true),
  /** Where presigned URLs point (S3: the public endpoint; directory: the service's HTTP_PORT /objects). */
  OBJECTS_PUBLIC_URL: z.url({ message: 'must be an absolute URL' }).optional(),
});

export const configSchema = composeEnv(
  serviceEnv,
  telemetryEnv,
  busEnv,
  databaseEnv,
  objectsEnv,
  callerAuthEnv,
  videoEnv,
);

export type Config = z.output<typeof configSchema>;

export function loadVideoIndexConfig(env: Env, exitOnError: boolean): Config {
  return loadConfig(configSchema, { env, exitOnError });
}
