/**
 * Configuration: one schema per service over the environment (and `*_FILE` mounted secrets),
 * parsed once at start-up; an invalid configuration prints every problem and exits with 78.
 * See README.md § config.
 */
export {
  ConfigError,
  EX_CONFIG,
  composeEnv,
  envFragment,
  formatProblems,
  loadConfig,
  redactConfig,
  type ConfigProblem,
  type Env,
  type EnvRule,
  type LoadConfigOptions,
} from './load.ts';
export { REDACTED, maskUrlCredentials, secret, secretKindOf, secretUrl, type SecretKind } from './secret.ts';
export {
  LOG_LEVELS,
  busEnv,
  cacheEnv,
  databaseEnv,
  objectsEnv,
  serviceEnv,
  telemetryEnv,
  type LogLevel,
} from './fragments.ts';
export { z } from 'zod';
