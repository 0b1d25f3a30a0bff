/**
 * device-ingest's configuration: the platform fragments plus its own keys, parsed once. The
 * only file of the service that reads the environment (src/service.ts hands it over).
 */
import {
  busEnv,
  cacheEnv,
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
import { callerAuthEnv } from '@anfang/platform/auth';
import { cryptoEnv } from '@anfang/platform/crypto';
import { DEFAULT_CLOCK_WINDOW_MS } from './domain/clock.ts';

const MiB = 1024 * 1024;
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const deviceIngestEnv = envFragment({
  /** The device listener (every device protocol), separate from HTTP_PORT (probes, metrics). */
  DEVICE_HTTP_PORT: z.coerce.number().int().min(0).max(65_535).default(8088),
  /** Largest device request body (GA/T 1400 batches carry base64 images). */
  DEVICE_MAX_BODY_BYTES: positiveInt(16 * MiB),
  /**
   * Admission control: device requests in flight, and their declared body bytes, beyond which
   * the listener answers 503 with Retry-After (devices resend) instead of holding more in memory.
   */
  DEVICE_MAX_IN_FLIGHT: positiveInt(256),
  DEVICE_MAX_IN_FLIGHT_BYTES: positiveInt(48 * MiB),
  /**
   * Of those in flight, the batches (bodies over 1 KiB) and their declared bytes read and
   * processed at once; more wait unread, holding next to no memory (src/http/admission.ts).
   */
  DEVICE_MAX_PROCESSING: positiveInt(16),
  DEVICE_MAX_PROCESSING_BYTES: positiveInt(256 * 1024),
  /** Signed requests older or newer than this are refused as replays. */
  DEVICE_REPLAY_WINDOW_MS: positiveInt(300_000),
  /** Expected heartbeat period; a device is offline after DEVICE_HEARTBEAT_MISSES of them. */
  DEVICE_HEARTBEAT_INTERVAL_MS: positiveInt(30_000),
  DEVICE_HEARTBEAT_MISSES: positiveInt(3),
  /** Clock drift is judged on the least-delayed sample of this window (request queueing is not drift). */
  DEVICE_CLOCK_WINDOW_MS: positiveInt(DEFAULT_CLOCK_WINDOW_MS),
  /** Refused payloads (the quarantine: rows and objects) are deleted after this many days. */
  QUARANTINE_RETENTION_DAYS: positiveInt(30),
  /** Safety-net full reload of the in-memory device directory (changes arrive by NOTIFY). */
  DEVICE_DIRECTORY_REFRESH_MS: positiveInt(60_000),
  /** The 20-digit GA/T 1400 id this platform answers devices as (VIIDServerID). */
  GAT1400_PLATFORM_ID: z
    .string()
    .regex(/^[0-9]{20}$/, 'must be 20 digits')
    .default('37030300005030000001'),
  /** Commands to Hikvision ISAPI devices are pushed to http(s)://<registered IP>:<this port>. */
  ISAPI_COMMAND_PORT: z.coerce.number().int().min(1).max(65_535).default(80),
  ISAPI_COMMAND_SCHEME: z.enum(['http', 'https']).default('http'),
  /** Digest user name on the devices; the password is the device's registry secret. */
  ISAPI_COMMAND_USER: z.string().min(1).default('admin'),
  ISAPI_COMMAND_TIMEOUT_MS: positiveInt(5_000),
  /** Open ISAPI commands are pushed again this often (an unreachable device, a busy one). */
  ISAPI_COMMAND_RETRY_MS: positiveInt(15_000),
  /**
   * The services whose part of the bucket (`<name>/`) enrolment faces are read from when an
   * access list is pushed to ISAPI terminals (src/push/face-images.ts); comma-separated.
   */
  ENROLMENT_FACE_SOURCES: z
    .string()
    .default('identity')
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== ''),
    )
    .pipe(z.array(z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'service names (a-z, 0-9, -)'))),
  /** Directory object store (embedded mode): HMAC key of presigned URLs (≥ 32 bytes). */
  OBJECTS_SIGNING_SECRET: secret(z.string().min(32, 'at least 32 characters').optional()),
  /** Directory object store: where presigned URLs point (the service's HTTP_PORT /objects). */
  OBJECTS_PUBLIC_URL: z.url({ message: 'must be an absolute URL' }).optional(),
  /** S3: create the bucket when missing (local installs); the chart provisions it and sets false. */
  OBJECTS_CREATE_BUCKET: z.stringbool().default(true),
});

export const configSchema = composeEnv(
  serviceEnv,
  telemetryEnv,
  busEnv,
  databaseEnv,
  cacheEnv,
  objectsEnv,
  // DATA_KEYS (required, usually DATA_KEYS_FILE): the device secrets' key ring. There is no
  // fallback: a key kept in the service's own database would sit beside the data it protects.
  cryptoEnv,
  // CALLER_TOKEN_KEY (required): every registry call names its caller (role, compound scope).
  callerAuthEnv,
  deviceIngestEnv,
);

export type Config = z.output<typeof configSchema>;

export function loadDeviceIngestConfig(env: Env, exitOnError: boolean): Config {
  return loadConfig(configSchema, { env, exitOnError });
}
