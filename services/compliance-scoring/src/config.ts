/**
 * compliance-scoring's configuration: the platform fragments plus its own keys, parsed once. The
 * only file of the service that reads the environment (src/service.ts hands it over).
 */
import { callerAuthEnv } from '@anfang/platform/auth';
import {
  busEnv,
  composeEnv,
  databaseEnv,
  envFragment,
  loadConfig,
  serviceEnv,
  telemetryEnv,
  z,
  type Env,
} from '@anfang/platform/config';
import { TABLE_VERSIONS } from './domain/tables.ts';

const versions = TABLE_VERSIONS.map((v) => v.version);

export const complianceEnv = envFragment({
  /** The configuration-table version scores use; every score records it. */
  COMPLIANCE_TABLE_VERSION: z
    .string()
    .refine((v) => versions.includes(v), `one of ${versions.join(', ')}`)
    .default(versions.at(-1)!),
  /** Year whose targets GetCoverage shows by default; the calendar year (UTC) when unset. */
  COMPLIANCE_TARGET_YEAR: z.coerce.number().int().min(2000).max(2100).optional(),
  /** Consumer group of the evidence consumer; the service name when unset. */
  COMPLIANCE_CONSUMER_GROUP: z.string().min(1).optional(),
  /**
   * Where a new consumer group starts: `earliest` reads the compacted registry and health topics
   * from the start, which is how a fresh install learns every device.
   */
  COMPLIANCE_CONSUMER_START: z.enum(['earliest', 'latest']).default('earliest'),
  /**
   * Time zone whose calendar days the coverage trend records (the district's local day, so
   * "end of the day" is the district's midnight).
   */
  COMPLIANCE_TIME_ZONE: z
    .string()
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat('en-CA', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'an IANA time zone, e.g. Asia/Shanghai')
    .default('Asia/Shanghai'),
  /** How often today's standing of every compound is recorded for the trend (the day's last record wins). */
  COMPLIANCE_STANDINGS_INTERVAL_MS: z.coerce.number().int().min(1000).default(900_000),
  /**
   * Gates and door terminals (DATA_MODULES) count as working only if they produced data within
   * this window; a newly known device has one window to produce its first.
   */
  COMPLIANCE_DATA_WINDOW_MS: z.coerce.number().int().min(1000).default(86_400_000),
  /**
   * An upper platform's upload-health report counts for this long; police-upload reports at
   * least every minute, so a silent police-upload stops counting as real-time upload.
   */
  COMPLIANCE_UPLOAD_HEALTH_TTL_MS: z.coerce.number().int().min(1000).default(300_000),
  /**
   * video-index's storage report of a compound counts for this long; video-index reports every
   * 5 minutes by default, so a silent video-index stops counting as images kept.
   */
  COMPLIANCE_STORAGE_EVIDENCE_TTL_MS: z.coerce.number().int().min(1000).default(1_800_000),
  /** patrol's report of a compound counts for this long (patrol reports every 5 minutes by default). */
  COMPLIANCE_PATROL_EVIDENCE_TTL_MS: z.coerce.number().int().min(1000).default(1_800_000),
  /** How often data sightings are written and the windows and limits above are checked. */
  COMPLIANCE_EVIDENCE_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).default(30_000),
  /** Import the district's 37 old compounds (data/seed-compounds.csv) when the registry is empty. */
  COMPLIANCE_SEED_COMPOUNDS: z.stringbool().default(true),
});

export const configSchema = composeEnv(
  serviceEnv,
  telemetryEnv,
  busEnv,
  databaseEnv,
  callerAuthEnv,
  complianceEnv,
);

export type Config = z.output<typeof configSchema>;

export function loadComplianceConfig(env: Env, exitOnError: boolean): Config {
  return loadConfig(configSchema, { env, exitOnError });
}
