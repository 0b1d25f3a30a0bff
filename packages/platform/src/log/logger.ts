import { isSpanContextValid, trace } from '@opentelemetry/api';
import { destination, pino, stdTimeFunctions, type DestinationStream, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export const REDACTED = '[REDACTED]';

/**
 * Keys whose values never reach a log line, at any depth. Credentials and personal data
 * (identity card numbers, phone numbers, biometric templates) alike.
 */
export const SECRET_KEY_PATTERN =
  /pass(word|wd|phrase)?$|^pwd$|secret|token|authori[sz]ation|^cookie$|^set-cookie$|api[-_]?key|private[-_]?key|credential|signature|id[-_]?(card[-_]?)?(number|no)$|^phone|phone$|mobile|^pin$|face[-_]?(feature|template)/i;

export interface CreateLoggerOptions {
  /** Service name (`OTEL_SERVICE_NAME`), on every line as `service`. */
  readonly service: string;
  readonly level?: LogLevel;
  /** Extra fields on every line. */
  readonly base?: Record<string, unknown>;
  /** Where lines go; default stdout (synchronous, so nothing is lost on a crash). */
  readonly destination?: DestinationStream;
  /** Extra key pattern to redact, in addition to {@link SECRET_KEY_PATTERN}. */
  readonly redactKeys?: RegExp;
}

/**
 * A JSON logger: one line per event, ISO time, level as a label, the active trace_id/span_id, and
 * secret-looking keys redacted at any depth (plus passwords inside connection URLs).
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const extra = options.redactKeys;
  const isSecret = (key: string): boolean => SECRET_KEY_PATTERN.test(key) || (extra?.test(key) ?? false);
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service, pid: process.pid, ...options.base },
      timestamp: stdTimeFunctions.isoTime,
      messageKey: 'msg',
      errorKey: 'err',
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redactDeep(object, isSecret) as Record<string, unknown>,
      },
      // Errors are serialised (and redacted) by formatters.log above; keep pino's serializer out.
      serializers: { err: (value: unknown) => value },
      hooks: {
        logMethod(args, method) {
          const [first, ...rest] = args as unknown[];
          if (first instanceof Error && (rest.length === 0 || typeof rest[0] !== 'string')) {
            // logger.error(err): pino would take the message from the error unredacted.
            return method.apply(this, [{ err: first }, maskUrls(first.message), ...rest] as never);
          }
          return method.apply(this, args.map((a) => (typeof a === 'string' ? maskUrls(a) : a)) as never);
        },
      },
      mixin: traceMixin,
    },
    // Synchronous stdout: a line is written before the next statement runs, so nothing is lost
    // or reordered when the process exits or crashes (pino's default buffers asynchronously).
    options.destination ?? destination({ dest: 1, sync: true }),
  );
}

/** The active span's ids, so that a log line can be found from its trace and back. */
export function traceMixin(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const ctx = span.spanContext();
  if (!isSpanContextValid(ctx)) return {};
  return {
    trace_id: ctx.traceId,
    span_id: ctx.spanId,
    trace_flags: `0${ctx.traceFlags.toString(16)}`.slice(-2),
  };
}

const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)[^@\s/]*@/gi;

const KEY_VALUE_SECRETS = /\b((?:password|passwd|pwd|secret|token|api[-_]?key)\s*[=:]\s*)[^\s&,;'"]+/gi;

/**
 * Masks the password of any `scheme://user:password@host` and the value of `password=…`-style
 * pairs inside free text.
 */
export function maskUrls(text: string): string {
  let out = text.includes('://') ? text.replace(URL_CREDENTIALS, `$1${REDACTED}@`) : text;
  if (out.includes('=') || out.includes(':')) out = out.replace(KEY_VALUE_SECRETS, `$1${REDACTED}`);
  return out;
}

/** A copy of `value` with secret keys replaced; the input is never mutated. */
export function redactDeep(
  value: unknown,
  isSecret: (key: string) => boolean = (k) => SECRET_KEY_PATTERN.test(k),
): unknown {
  const seen = new WeakSet<object>();
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return maskUrls(v);
    if (v === null || typeof v !== 'object') return v;
    if (depth > 8 || seen.has(v)) return v;
    seen.add(v);
    if (v instanceof Error) return redactError(v, isSecret, walk, depth);
    if (Array.isArray(v)) return v.map((item) => walk(item, depth + 1));
    if (ArrayBuffer.isView(v) || v instanceof Date || v instanceof Map || v instanceof Set) return v;
    const toJSON = (v as { toJSON?: unknown }).toJSON;
    const source = typeof toJSON === 'function' ? (toJSON.call(v) as unknown) : v;
    if (source !== v) return walk(source, depth + 1);
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(v)) {
      out[key] = isSecret(key) && item !== undefined && item !== null ? REDACTED : walk(item, depth + 1);
    }
    return out;
  };
  return walk(value, 0);
}

function redactError(
  err: Error,
  isSecret: (key: string) => boolean,
  walk: (v: unknown, depth: number) => unknown,
  depth: number,
): Record<string, unknown> {
  // Serialised like pino's standard error serializer, redacted like everything else.
  const out: Record<string, unknown> = {
    type: err.constructor.name || err.name,
    message: walk(err.message, depth + 1),
    stack: walk(err.stack, depth + 1),
  };
  for (const [key, item] of Object.entries(err)) {
    if (key in out) continue;
    out[key] = isSecret(key) && item !== undefined && item !== null ? REDACTED : walk(item, depth + 1);
  }
  if (err.cause !== undefined) out.cause = walk(err.cause, depth + 1);
  return out;
}
