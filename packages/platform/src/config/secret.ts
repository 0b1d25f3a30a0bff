import { z } from 'zod';

/**
 * How a secret value is shown when the config is logged:
 * - `value`: replaced entirely by `[REDACTED]`;
 * - `url`: a connection URL whose password (and query-string credentials) is masked, so the host
 *   and database stay visible in logs.
 */
export type SecretKind = 'value' | 'url';

const secrets = z.registry<{ secret: SecretKind }, z.ZodType>();

/** Marks a schema as holding a secret: `loadConfig` redacts it whenever the config is logged. */
export function secret<T extends z.ZodType>(schema: T, kind: SecretKind = 'value'): T {
  secrets.add(schema, { secret: kind });
  return schema;
}

/** Marks a connection URL whose password must be masked when logged (`postgres://u:***@h/db`). */
export function secretUrl<T extends z.ZodType>(schema: T): T {
  return secret(schema, 'url');
}

interface DefLike {
  readonly type?: string;
  readonly innerType?: z.ZodType;
  readonly in?: z.ZodType;
  readonly out?: z.ZodType;
}

/** The secret marking of a schema, looking through optional/default/pipe wrappers. */
export function secretKindOf(schema: z.ZodType): SecretKind | undefined {
  let current: z.ZodType | undefined = schema;
  for (let depth = 0; current !== undefined && depth < 16; depth++) {
    const meta = secrets.get(current);
    if (meta) return meta.secret;
    const def: DefLike = (current as unknown as { _zod: { def: DefLike } })._zod.def;
    current = def.innerType ?? def.in;
  }
  return undefined;
}

export const REDACTED = '[REDACTED]';

/** `scheme://user:pass@host` → `scheme://user:[REDACTED]@host`; also masks `password=` in queries. */
export function maskUrlCredentials(value: string): string {
  return value
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)[^@\s/]*@/gi, `$1${REDACTED}@`)
    .replace(/([?&](?:password|pass|secret|token|sslkey)=)[^&#\s]*/gi, `$1${REDACTED}`);
}

export function redactValue(kind: SecretKind, value: unknown): unknown {
  if (value === undefined || value === null) return value;
  if (kind === 'url' && typeof value === 'string') return maskUrlCredentials(value);
  return REDACTED;
}
