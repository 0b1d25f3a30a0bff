/**
 * perimeter-alarms' configuration: the platform fragments plus its own keys, parsed once. The
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

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const alarmsEnv = envFragment({
  /** Triggers of one zone (or device) and category this close to the latest merge into one alarm. */
  ALARM_FLOOD_WINDOW_SECONDS: positiveInt(300),
  /** Time to acknowledge a critical alarm before it escalates. */
  ALARM_ACK_CRITICAL_SECONDS: positiveInt(60),
  /** ... a high-priority alarm. */
  ALARM_ACK_HIGH_SECONDS: positiveInt(180),
  /** ... a medium-priority alarm. */
  ALARM_ACK_MEDIUM_SECONDS: positiveInt(600),
  /** ... a low-priority alarm. */
  ALARM_ACK_LOW_SECONDS: positiveInt(1800),
  /** Escalation stops at this level (the alarm keeps waiting for an acknowledgement). */
  ALARM_MAX_ESCALATION_LEVEL: positiveInt(3),
  /**
   * Partitions of the source topics one replica handles at once (each in order): the triggers
   * they deliver meanwhile are applied as one batch, so this bounds the batch. Default: the
   * perimeter topic's 12 partitions.
   */
  ALARM_CONSUMER_CONCURRENCY: positiveInt(12),
  /** How often every replica looks for missed acknowledge deadlines. */
  ALARM_ESCALATION_INTERVAL_MS: positiveInt(5_000),
  /** Playback starts this long before the first occurrence ... */
  ALARM_PLAYBACK_BEFORE_SECONDS: positiveInt(30),
  /** ... and ends this long after the latest. */
  ALARM_PLAYBACK_AFTER_SECONDS: positiveInt(60),
});

export const configSchema = composeEnv(
  serviceEnv,
  telemetryEnv,
  busEnv,
  databaseEnv,
  callerAuthEnv,
  alarmsEnv,
);

export type Config = z.output<typeof configSchema>;

export function loadAlarmsConfig(env: Env, exitOnError: boolean): Config {
  return loadConfig(configSchema, { env, exitOnError });
}
