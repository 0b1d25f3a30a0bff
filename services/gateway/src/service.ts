/**
 * gateway's ServiceModule: accounts and the audit log in its own Postgres, sessions and rate
 * limits in Redis, the live consumer on the bus, and everything people call on its HTTP port:
 * /auth, REST transcoded to every routed service's gRPC API, /v1/live, /v1/audit, /openapi.json,
 * /docs and the dashboard. Its gRPC port serves health and nothing else.
 */
import { hostname } from 'node:os';
import { callerTokens, createCallerVerifier } from '@anfang/platform/auth';
import { createFieldCipher } from '@anfang/platform/crypto';
import {
  openBus,
  openCache,
  openDatabase,
  type ServiceModule,
  startService,
  serveApis,
} from '@anfang/platform/service';
import { dashboardRouter } from '../web/index.ts';
import { createOidcVerifier, type OidcVerifier } from './auth/oidc.ts';
import { loadGatewayConfig, type Config } from './config.ts';
import type { AuditEntry } from './domain/audit-chain.ts';
import { auditRoutes } from './http/audit-routes.ts';
import { authRoutes } from './http/auth-routes.ts';
import { authenticate } from './http/authenticate.ts';
import { docsRoutes, loadOpenApi } from './http/docs.ts';
import { addressRateLimit, corsPolicy, securityHeaders, userRateLimit } from './http/hygiene.ts';
import { mediaRoutes } from './http/media.ts';
import { sitePlanRoutes } from './http/site-plan-routes.ts';
import { createSitePlanStore } from './store/site-plan.ts';
import { liveRoutes } from './http/live.ts';
import { transcoder } from './http/transcode.ts';
import { consumeLive, createLiveHub } from './live/hub.ts';
import { createAccountStore } from './store/accounts.ts';
import { createAuditStore } from './store/audit.ts';
import { createSessionStore } from './store/sessions.ts';
import { addressEnvKey, UPSTREAMS } from './upstreams.ts';

const NAME = 'gateway';
const MIGRATIONS = new URL('./store/migrations', import.meta.url);
const PRUNE_EVERY_MS = 6 * 3_600_000;

function upstreamAddresses(config: Config): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.values(UPSTREAMS)) {
    const address = (config as unknown as Record<string, string | undefined>)[addressEnvKey(name)];
    if (address) out[name] = address;
  }
  return out;
}

function oidcOf(config: Config): OidcVerifier | undefined {
  if (!config.OIDC_ISSUER || !config.OIDC_AUDIENCE || !config.OIDC_JWKS_URL) return undefined;
  return createOidcVerifier({
    issuer: config.OIDC_ISSUER,
    audience: config.OIDC_AUDIENCE,
    jwks: config.OIDC_JWKS_URL,
    roleClaim: config.OIDC_ROLE_CLAIM,
    roleMap: config.OIDC_ROLE_MAP,
    compoundsClaim: config.OIDC_COMPOUNDS_CLAIM,
    areasClaim: config.OIDC_AREAS_CLAIM,
  });
}

const gatewayService: ServiceModule = {
  name: NAME,
  migrations: MIGRATIONS,
  description: 'REST, OpenAPI, sign-in, roles and scopes, audit, live updates, the dashboard',
  start(env, options) {
    return startService(
      loadGatewayConfig(env, options.ownsProcess),
      options,
      async ({ config, logger, lifecycle, resources }) => {
        const pool = await openDatabase(config, resources, MIGRATIONS);
        const cache = openCache(config, config.OTEL_SERVICE_NAME, resources);
        const bus = await openBus(config, resources);

        const accounts = createAccountStore(pool, createFieldCipher(config.DATA_KEYS));
        const sessions = createSessionStore(cache, {
          idleMs: config.GATEWAY_SESSION_IDLE_MINUTES * 60_000,
          maxMs: config.GATEWAY_SESSION_MAX_HOURS * 3_600_000,
        });
        const auditStore = createAuditStore(pool);
        const audit = (entry: AuditEntry) => auditStore.append(entry);
        const policy = {
          lockoutThreshold: config.GATEWAY_LOCKOUT_THRESHOLD,
          lockoutMinutes: config.GATEWAY_LOCKOUT_MINUTES,
          passwordMaxAgeDays: config.GATEWAY_PASSWORD_MAX_AGE_DAYS,
        };

        if (config.GATEWAY_BOOTSTRAP_ADMIN_PASSWORD) {
          const created = await accounts.ensure({
            username: 'admin',
            displayName: 'Administrator',
            password: config.GATEWAY_BOOTSTRAP_ADMIN_PASSWORD,
            role: 'district_admin',
            compounds: 'all',
            areas: [],
          });
          if (created) logger.info('bootstrap account "admin" created');
        }

        const prune = () =>
          auditStore.prune(config.AUDIT_RETENTION_DAYS).then(
            (pruned) => {
              if (pruned > 0) logger.info({ pruned }, 'audit rows past the retention pruned');
            },
            (err: unknown) => logger.error({ err }, 'audit pruning failed'),
          );
        // Also on start: replicas restarted more often than the interval would never prune.
        void prune();
        const pruner = setInterval(() => void prune(), PRUNE_EVERY_MS);
        pruner.unref();
        lifecycle.onShutdown('drain-consumers', 'audit pruning', () => clearInterval(pruner));

        const hub = createLiveHub({ bufferSize: config.GATEWAY_LIVE_BUFFER });
        const live = await consumeLive(bus, hub, {
          group: `${config.OTEL_SERVICE_NAME}.live.${hostname()}-${process.pid}-${Date.now().toString(36)}`,
          logger,
        });
        lifecycle.onShutdown('stop-accepting', 'live streams', () => hub.close());
        lifecycle.onShutdown('drain-consumers', 'live consumer', () => live.close());

        const openapi = await loadOpenApi(logger);
        let rest: ReturnType<typeof transcoder> | undefined;
        let media: ReturnType<typeof mediaRoutes> | undefined;
        const ports = await serveApis(config, resources, {
          callers: createCallerVerifier({ key: config.CALLER_TOKEN_KEY }),
          services: [],
          reflection: undefined,
          http: { bodyLimit: config.GATEWAY_BODY_LIMIT, trustProxy: config.GATEWAY_TRUST_PROXY },
          routes: (router) => {
            router.use(securityHeaders(), corsPolicy(config.GATEWAY_CORS_ORIGINS));
            router.use(addressRateLimit(cache, config.GATEWAY_RATE_LIMIT_ADDRESS_PER_MINUTE));
            docsRoutes(router, openapi);
            router.use(authenticate({ sessions, oidc: oidcOf(config) }));
            router.use(userRateLimit(cache, config.GATEWAY_RATE_LIMIT_USER_PER_MINUTE));
            authRoutes(router, {
              accounts,
              sessions,
              policy,
              audit,
              secureCookies: config.NODE_ENV === 'production',
            });
            liveRoutes(router, { hub, heartbeatMs: config.GATEWAY_LIVE_HEARTBEAT_MS });
            auditRoutes(router, auditStore);
            sitePlanRoutes(router, { store: createSitePlanStore(pool), audit });
            const addresses = upstreamAddresses(config);
            // One token per signed-in user and purpose for a minute, reused across their requests.
            const userTokens = callerTokens(config.CALLER_TOKEN_KEY, { ttlSeconds: 60 });
            media = mediaRoutes(router, {
              address: addresses['video-index'],
              callerTokens: userTokens,
              deadlineMs: config.GATEWAY_UPSTREAM_DEADLINE_MS,
              audit,
            });
            rest = transcoder(router, {
              addresses,
              callerTokens: userTokens,
              deadlineMs: config.GATEWAY_UPSTREAM_DEADLINE_MS,
              audit,
            });
            router.use(dashboardRouter());
          },
        });
        lifecycle.onShutdown('drain-consumers', 'upstream clients', () => {
          rest?.close();
          media?.close();
        });
        return ports;
      },
    );
  },
};

export default gatewayService;
