/**
 * gateway's configuration: the platform fragments plus its own keys, parsed once. The only file
 * of the service that reads the environment (src/service.ts hands it over).
 */
import { callerAuthEnv } from '@anfang/platform/auth';
import {
  busEnv,
  cacheEnv,
  composeEnv,
  databaseEnv,
  envFragment,
  loadConfig,
  secret,
  serviceEnv,
  telemetryEnv,
  z,
  type Env,
} from '@anfang/platform/config';
import { cryptoEnv } from '@anfang/platform/crypto';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const commaList = () =>
  z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part.length > 0),
    );

/** The legal floor of audit retention (网络安全法: logs kept at least six months). */
export const MIN_AUDIT_RETENTION_DAYS = 180;

const grpcAddress = () =>
  z
    .string()
    .regex(/^(dns:\/\/\/)?[^\s/]+:\d{1,5}$/, 'must be host:port')
    .optional();

/** The gRPC address of each routed service (src/upstreams.ts); a service without one answers 503. */
export const upstreamEnv = envFragment({
  SERVICE_GRPC_ADDR_PERIMETER_ALARMS: grpcAddress(),
  SERVICE_GRPC_ADDR_COMPLIANCE_SCORING: grpcAddress(),
  SERVICE_GRPC_ADDR_DEVICE_INGEST: grpcAddress(),
  SERVICE_GRPC_ADDR_IDENTITY: grpcAddress(),
  SERVICE_GRPC_ADDR_PATROL: grpcAddress(),
  SERVICE_GRPC_ADDR_VEHICLE_ACCESS: grpcAddress(),
  SERVICE_GRPC_ADDR_VIDEO_INDEX: grpcAddress(),
  SERVICE_GRPC_ADDR_POLICE_UPLOAD: grpcAddress(),
});

export const gatewayEnv = envFragment(
  {
    /** Deadline of every forwarded call. */
    GATEWAY_UPSTREAM_DEADLINE_MS: positiveInt(10_000),
    /** Largest accepted request body. */
    GATEWAY_BODY_LIMIT: z
      .string()
      .regex(/^\d+(b|kb|mb)$/, 'e.g. 1mb')
      .default('1mb'),
    /** Express `trust proxy` (hops): set it behind the ingress so the client's address is seen. */
    GATEWAY_TRUST_PROXY: z.coerce.number().int().min(0).default(0),
    /** Origins allowed to call the API from a browser (the dashboard itself is same-origin). */
    GATEWAY_CORS_ORIGINS: commaList().pipe(z.array(z.url())),
    GATEWAY_RATE_LIMIT_USER_PER_MINUTE: positiveInt(600),
    GATEWAY_RATE_LIMIT_ADDRESS_PER_MINUTE: positiveInt(1200),
    /** A session ends after this long without a request. */
    GATEWAY_SESSION_IDLE_MINUTES: positiveInt(30),
    /** And after this long in any case. */
    GATEWAY_SESSION_MAX_HOURS: positiveInt(12),
    /** Consecutive failed sign-ins before an account locks. */
    GATEWAY_LOCKOUT_THRESHOLD: positiveInt(5),
    GATEWAY_LOCKOUT_MINUTES: positiveInt(15),
    /** A password older than this must be changed before anything else. */
    GATEWAY_PASSWORD_MAX_AGE_DAYS: positiveInt(90),
    /** The bootstrap `admin` account's first password (the runner generates the file). */
    GATEWAY_BOOTSTRAP_ADMIN_PASSWORD: secret(z.string().min(12).optional()),
    /** Audit rows are kept this long, never less than the legal floor. */
    AUDIT_RETENTION_DAYS: z.coerce
      .number()
      .int()
      .min(MIN_AUDIT_RETENTION_DAYS, `must be at least ${MIN_AUDIT_RETENTION_DAYS} days`)
      .default(365),
    GATEWAY_LIVE_HEARTBEAT_MS: positiveInt(15_000),
    /** Recent live events kept per replica for reconnects with Last-Event-ID. */
    GATEWAY_LIVE_BUFFER: positiveInt(1000),
    /** OIDC: the identity provider's issuer, the audience of its tokens, its JWKS. All or none. */
    OIDC_ISSUER: z.url().optional(),
    OIDC_AUDIENCE: z.string().min(1).optional(),
    OIDC_JWKS_URL: z.url().optional(),
    /** The claim naming the role: an Anfang role, or a value mapped by OIDC_ROLE_MAP. */
    OIDC_ROLE_CLAIM: z.string().min(1).default('anfang_role'),
    /** JSON object: identity-provider role/group → Anfang role. */
    OIDC_ROLE_MAP: z
      .string()
      .default('{}')
      .transform((text, ctx) => {
        try {
          const parsed: unknown = JSON.parse(text);
          if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
            return parsed as Record<string, string>;
        } catch {
          // reported below
        }
        ctx.addIssue({ code: 'custom', message: 'must be a JSON object of strings' });
        return z.NEVER;
      }),
    /** The claim listing compound ids (or "*"), and the one listing area codes. */
    OIDC_COMPOUNDS_CLAIM: z.string().min(1).default('anfang_compounds'),
    OIDC_AREAS_CLAIM: z.string().min(1).default('anfang_areas'),
  },
  (env, problem) => {
    const oidc = [env.OIDC_ISSUER, env.OIDC_AUDIENCE, env.OIDC_JWKS_URL].filter((v) => v !== undefined);
    if (oidc.length > 0 && oidc.length < 3)
      problem('OIDC_ISSUER', 'OIDC_ISSUER, OIDC_AUDIENCE and OIDC_JWKS_URL go together');
  },
);

export const configSchema = composeEnv(
  serviceEnv,
  telemetryEnv,
  busEnv,
  databaseEnv,
  cacheEnv,
  callerAuthEnv,
  cryptoEnv,
  upstreamEnv,
  gatewayEnv,
);

export type Config = z.output<typeof configSchema>;

export function loadGatewayConfig(env: Env, exitOnError: boolean): Config {
  return loadConfig(configSchema, { env, exitOnError });
}
