/**
 * patrol's configuration: the platform fragments plus its own keys, parsed once. The only file
 * of the service that reads the environment (src/service.ts hands it over).
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

export const patrolEnv = envFragment({
  /** How often the scheduler materialises rounds and closes the due ones. */
  PATROL_SCHEDULER_INTERVAL_MS: positiveInt(30_000),
  /** Rounds are materialised this far ahead of their planned start. */
  PATROL_SCHEDULE_AHEAD_HOURS: positiveInt(24),
  /**
   * And this far back: rounds a stopped scheduler missed are still created (and closed, so
   * they are reported), up to this age.
   */
  PATROL_SCHEDULE_LOOKBACK_HOURS: positiveInt(24),
  /** A round closes this long after its planned end; check-ins until then count as live. */
  PATROL_CLOSE_GRACE_MINUTES: z.coerce.number().int().min(0).default(15),
  /** A check-in this long before a round's planned start still belongs to the round. */
  PATROL_ROUND_EARLY_MINUTES: z.coerce.number().int().min(0).default(30),
  /**
   * Rounds planned to start within this many hours count in the patrol evidence compliance
   * scoring reads (electronic patrol counts only if a round was completed in the window).
   */
  PATROL_EVIDENCE_WINDOW_HOURS: positiveInt(24),
  /**
   * How often every compound's patrol evidence is published; compliance-scoring stops counting
   * evidence older than its freshness limit (default 30 min).
   */
  PATROL_EVIDENCE_INTERVAL_MS: positiveInt(300_000),
  /** A route or round change is published this long after it, with the changes that follow it. */
  PATROL_EVIDENCE_DEBOUNCE_MS: z.coerce.number().int().min(0).default(1_000),
});

export const configSchema = composeEnv(
  serviceEnv,
  telemetryEnv,
  busEnv,
  databaseEnv,
  callerAuthEnv,
  patrolEnv,
);

export type Config = z.output<typeof configSchema>;

export function loadPatrolConfig(env: Env, exitOnError: boolean): Config {
  return loadConfig(configSchema, { env, exitOnError });
}
