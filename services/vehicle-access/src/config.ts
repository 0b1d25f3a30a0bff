/**
 * vehicle-access's configuration: the platform fragments plus its own keys, parsed once. The
 * only file of the service that reads the environment.
 */
import { callerAuthEnv } from '@anfang/platform/auth';
import {
  busEnv,
  cacheEnv,
  composeEnv,
  databaseEnv,
  envFragment,
  loadConfig,
  serviceEnv,
  telemetryEnv,
  z,
  type Env,
} from '@anfang/platform/config';
import { cryptoEnv } from '@anfang/platform/crypto';

export const vehicleAccessEnv = envFragment({
  /** Playback window on each side of a read, in the live-view/playback links of decisions and hits. */
  VEHICLE_PLAYBACK_MARGIN_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
  /**
   * Barrier action for plates listed by a police disposition (GA/T 1400 dispositions carry none):
   * by default the alarm is silent and the vehicle passes as usual, so the driver is not warned.
   */
  VEHICLE_DISPOSITION_ACTION: z.enum(['alarm-silently', 'alarm-and-hold']).default('alarm-silently'),
  /** Plate-read partitions handled concurrently by one replica. */
  VEHICLE_PLATE_READ_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
});

export const configSchema = composeEnv(
  serviceEnv,
  telemetryEnv,
  busEnv,
  databaseEnv,
  cacheEnv,
  // DATA_KEYS: visitors' phone numbers are encrypted at rest.
  cryptoEnv,
  callerAuthEnv,
  vehicleAccessEnv,
);

export type Config = z.output<typeof configSchema>;

export function loadVehicleAccessConfig(env: Env, exitOnError: boolean): Config {
  return loadConfig(configSchema, { env, exitOnError });
}
