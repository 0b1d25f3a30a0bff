/**
 * police-upload's configuration: the platform fragments plus its own keys, parsed once. The only
 * file of the service that reads the environment. Upper platforms themselves live in its
 * database (UpdatePlatform); their passwords never do — a platform names a secret
 * (`password_ref`), read from POLICE_UPLOAD_SECRETS_DIR (mounted secret files) or
 * POLICE_UPLOAD_SECRETS (a JSON object from a secret env var).
 */
import { callerAuthEnv } from '@anfang/platform/auth';
import { cryptoEnv } from '@anfang/platform/crypto';
import {
  busEnv,
  cacheEnv,
  composeEnv,
  databaseEnv,
  envFragment,
  loadConfig,
  objectsEnv,
  serviceEnv,
  telemetryEnv,
  z,
  type Env,
} from '@anfang/platform/config';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const policeUploadEnv = envFragment({
  /** Our own 20-digit GA/T id as a lower platform (User-Identify, RegisterObject.DeviceID). */
  POLICE_UPLOAD_LOWER_ID: z.string().regex(/^\d{20}$/, 'must be the 20-digit GA/T 1400 id of this platform'),
  /** Folder of secret files: a platform's password_ref names a file in it. */
  POLICE_UPLOAD_SECRETS_DIR: z.string().min(1).optional(),
  /** `{"<ref>":"<password>"}`: secrets from the environment (a Kubernetes secret as env). */
  POLICE_UPLOAD_SECRETS: z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (!s) return {} as Record<string, string>;
      try {
        const parsed = z.record(z.string(), z.string()).parse(JSON.parse(s));
        return parsed;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON object of strings' });
        return z.NEVER;
      }
    }),
  /**
   * Bytes of pictures a platform's outbox may hold. Pictures are read when an object is enqueued
   * and kept in its row while its platform's outbox holds less than this, so that the drain after
   * an outage does not read the object store per object; beyond it (a long outage) rows keep only
   * their keys and are read at send time. 0: always read at send time.
   */
  POLICE_UPLOAD_ENQUEUED_PICTURE_BYTES: z.coerce
    .number()
    .int()
    .nonnegative()
    .default(256 * 1024 * 1024),
  /** Objects per POST. */
  POLICE_UPLOAD_BATCH_SIZE: positiveInt(50),
  /** Batches in flight per platform. */
  POLICE_UPLOAD_CONCURRENCY: positiveInt(8),
  /** No answer within this → the batch is retried (the notes: about 5 s). */
  POLICE_UPLOAD_REQUEST_TIMEOUT_MS: positiveInt(5_000),
  /** First retry delay of a failed object or platform; doubles up to the max. */
  POLICE_UPLOAD_RETRY_BASE_MS: positiveInt(500),
  POLICE_UPLOAD_RETRY_MAX_MS: positiveInt(10_000),
  /** Idle workers look for due objects this often (new objects of this replica wake them at once). */
  POLICE_UPLOAD_POLL_MS: positiveInt(200),
  /**
   * How often upload health is reported per compound and platform. At most a minute: compliance
   * scoring expires a report after 5 min (COMPLIANCE_UPLOAD_HEALTH_TTL_MS), and a few reports
   * may be lost to a restart or a broker hiccup before that.
   */
  POLICE_UPLOAD_HEALTH_INTERVAL_MS: z.coerce
    .number()
    .int()
    .positive()
    .max(60_000, 'at most 60000: compliance scoring expires upload-health reports after 5 min')
    .default(30_000),
  /**
   * Upload health's success rate and p99 latency cover this much of the past, summed over every
   * replica's samples (at least one interval).
   */
  POLICE_UPLOAD_HEALTH_WINDOW_MS: positiveInt(60_000),
  /** Backlog older than this means "not real time" for compliance scoring. */
  POLICE_UPLOAD_REAL_TIME_BOUND_MS: positiveInt(60_000),
  /**
   * A disposition's answer waits this long for identity's or vehicle-access's result, so that a
   * refusal reaches the upper platform in its ResponseStatus.
   */
  POLICE_UPLOAD_COMMAND_RESULT_WAIT_MS: z.coerce.number().int().nonnegative().max(10_000).default(3_000),
  /** How often platform settings are re-read (changes by another replica). */
  POLICE_UPLOAD_PLATFORM_REFRESH_MS: positiveInt(10_000),
});

export const configSchema = composeEnv(
  serviceEnv,
  telemetryEnv,
  busEnv,
  databaseEnv,
  // Digest nonces of the commands from upper platforms, shared by the replicas.
  cacheEnv,
  objectsEnv,
  callerAuthEnv,
  // DATA_KEYS encrypts the ID numbers of person dispositions at rest.
  cryptoEnv,
  policeUploadEnv,
);

export type Config = z.output<typeof configSchema>;

export function loadPoliceUploadConfig(env: Env, exitOnError: boolean): Config {
  return loadConfig(configSchema, { env, exitOnError });
}
