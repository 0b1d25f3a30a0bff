/** Structured JSON logging with trace ids and no secrets. See README.md § log. */
export {
  REDACTED,
  SECRET_KEY_PATTERN,
  createLogger,
  maskUrls,
  redactDeep,
  traceMixin,
  type CreateLoggerOptions,
  type LogLevel,
  type Logger,
} from './logger.ts';
