/**
 * Who is calling, on every gRPC call: a short-lived HS256 JWT in the `x-anfang-caller` metadata
 * entry, minted by the gateway for a signed-in user (or by a service for its own calls) and
 * verified by the service that serves the call. It carries the role and the compounds the caller
 * may see; handlers check both with {@link requireRole} and {@link requireCompound}.
 *
 * JWT handling is jose's (well kept, no dependencies); ours is only the claim set and the checks.
 * Keys: CALLER_TOKEN_KEY is one key or a comma-separated list — the first signs, every one
 * verifies, so a key is rotated by putting the new one first and dropping the old one once the
 * tokens it signed have expired (their lifetime is minutes).
 */
import {
  InterceptingCall,
  Metadata as GrpcMetadata,
  RequesterBuilder,
  type Interceptor,
  type Metadata,
} from '@grpc/grpc-js';
import { errors as joseErrors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { PermissionDeniedError, UnauthenticatedError } from '../grpc/errors.ts';
import type { CallContext, GrpcService } from '../grpc/server.ts';

export const CALLER_METADATA_KEY = 'x-anfang-caller';
const ISSUER = 'anfang';
const AUDIENCE = 'anfang-services';
const MIN_KEY_BYTES = 32;

export const ROLES = [
  /** District office: every compound, configuration and scores. */
  'district_admin',
  /** Police: watchlists, dispositions, unmasked personal data with a purpose. */
  'police',
  /** Community manager / grid worker (社区/网格员): their compounds' registry. */
  'community_manager',
  /** Property staff (物业): their compounds' residents, visitors, vehicles, alarms. */
  'property_staff',
  /** Guard on duty: alarms, visitor check-in, barrier release at their compounds. */
  'guard',
  /** A resident: their own household, invitations for their own visitors. */
  'resident',
  /** Another Anfang service acting on its own account. */
  'service',
  /** Town/street office (镇/街道): the compounds of their town/street (an `areas` scope). */
  'street_officer',
  /** Auditor: reads the audit log; no business data. */
  'auditor',
  /** Platform operator: accounts, health and configuration of the installation; no personal data. */
  'platform_operator',
] as const;
export type Role = (typeof ROLES)[number];

export interface Caller {
  /** Stable id of the user or service (`svc:<name>` for services). */
  readonly subject: string;
  /** Display name, for audit rows. */
  readonly name?: string;
  readonly role: Role;
  /** The compounds the caller may act on: every one, or a list of compound ids. */
  readonly compounds: 'all' | readonly string[];
  /**
   * Standard-address code prefixes the caller may also act on (a district `370303`, a town/street
   * `370303001`): every compound whose id starts with one of them is in scope. Compound ids are
   * standard-address codes, so a town office's scope needs no list of its compounds.
   */
  readonly areas?: readonly string[];
  /** Why the caller needs personal data (recorded in audit rows). */
  readonly purpose?: string;
}

interface CallerClaims extends JWTPayload {
  role?: unknown;
  compounds?: unknown;
  areas?: unknown;
  name?: unknown;
  purpose?: unknown;
}

function keysOf(key: string): Uint8Array[] {
  const keys = key
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean)
    .map((k) => new TextEncoder().encode(k));
  if (keys.length === 0) throw new Error('auth: no caller token key');
  for (const k of keys)
    if (k.byteLength < MIN_KEY_BYTES)
      throw new Error(`auth: a caller token key is shorter than ${MIN_KEY_BYTES} bytes`);
  return keys;
}

/** True when the value names one of {@link ROLES}. */
export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

function callerFromClaims(claims: CallerClaims): Caller {
  if (typeof claims.sub !== 'string' || claims.sub === '')
    throw new UnauthenticatedError('caller token has no subject');
  if (!isRole(claims.role)) throw new UnauthenticatedError('caller token has no valid role');
  let compounds: Caller['compounds'];
  if (claims.compounds === '*') compounds = 'all';
  else if (Array.isArray(claims.compounds) && claims.compounds.every((c) => typeof c === 'string'))
    compounds = Object.freeze([...(claims.compounds as string[])]);
  else throw new UnauthenticatedError('caller token has no valid compound scope');
  let areas: readonly string[] | undefined;
  if (claims.areas !== undefined) {
    if (
      !Array.isArray(claims.areas) ||
      !claims.areas.every((a) => typeof a === 'string' && /^\d{6,}$/.test(a))
    )
      throw new UnauthenticatedError('caller token has an invalid area scope');
    areas = Object.freeze([...(claims.areas as string[])]);
  }
  return Object.freeze({
    subject: claims.sub,
    role: claims.role,
    compounds,
    ...(areas !== undefined ? { areas } : {}),
    ...(typeof claims.name === 'string' ? { name: claims.name } : {}),
    ...(typeof claims.purpose === 'string' ? { purpose: claims.purpose } : {}),
  });
}

export interface MintOptions {
  /** Token lifetime; default 300 s. */
  readonly ttlSeconds?: number;
}

/** A signed caller token (the gateway mints one per user request; services for their own calls). */
export async function mintCallerToken(
  caller: Caller,
  key: string,
  options: MintOptions = {},
): Promise<string> {
  const [signing] = keysOf(key);
  return new SignJWT({
    role: caller.role,
    compounds: caller.compounds === 'all' ? '*' : [...caller.compounds],
    ...(caller.areas !== undefined ? { areas: [...caller.areas] } : {}),
    ...(caller.name !== undefined ? { name: caller.name } : {}),
    ...(caller.purpose !== undefined ? { purpose: caller.purpose } : {}),
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(caller.subject)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (options.ttlSeconds ?? 300))
    .sign(signing!);
}

/** gRPC metadata carrying a freshly minted caller token. */
export async function mintCallerMetadata(
  caller: Caller,
  key: string,
  options: MintOptions = {},
): Promise<Metadata> {
  const metadata = new GrpcMetadata();
  metadata.set(CALLER_METADATA_KEY, await mintCallerToken(caller, key, options));
  return metadata;
}

export interface CallerTokensOptions extends MintOptions {
  /** Callers whose tokens are kept (the least recently minted go first). Default 10,000. */
  readonly maxCallers?: number;
}

export interface CallerTokens {
  /** The caller's token: the one minted before while more than a third of its lifetime is left. */
  token(caller: Caller): Promise<string>;
  /** gRPC metadata (a new object per call: grpc-js owns it once the call starts) with that token. */
  metadata(caller: Caller): Promise<Metadata>;
}

/**
 * Caller tokens minted once per caller and reused: the gateway serves many requests of one signed-in
 * user a second, and a token minted per request costs an HMAC to sign and, because the serving
 * service remembers the tokens it verified, another to verify. A caller is the whole claim set
 * (subject, role, scope, name, purpose), so a changed role, scope or purpose gets a token of its own.
 */
export function callerTokens(key: string, options: CallerTokensOptions = {}): CallerTokens {
  const ttlSeconds = options.ttlSeconds ?? 300;
  const maxCallers = options.maxCallers ?? 10_000;
  const minted = new Map<string, { token: Promise<string>; refreshAtMs: number }>();
  const identity = (c: Caller): string =>
    JSON.stringify([c.subject, c.role, c.compounds, c.areas ?? null, c.name ?? null, c.purpose ?? null]);

  function token(caller: Caller): Promise<string> {
    const id = identity(caller);
    const now = Date.now();
    const known = minted.get(id);
    if (known && now < known.refreshAtMs) return known.token;
    minted.delete(id);
    if (minted.size >= maxCallers) minted.delete(minted.keys().next().value!);
    const fresh = {
      token: mintCallerToken(caller, key, { ttlSeconds }),
      refreshAtMs: now + (ttlSeconds * 1000 * 2) / 3,
    };
    minted.set(id, fresh);
    fresh.token.catch(() => minted.get(id) === fresh && minted.delete(id));
    return fresh.token;
  }

  return {
    token,
    async metadata(caller) {
      const metadata = new GrpcMetadata();
      metadata.set(CALLER_METADATA_KEY, await token(caller));
      return metadata;
    },
  };
}

export interface CallerVerifierOptions {
  /** CALLER_TOKEN_KEY: one key or a comma-separated list (first signs, all verify). */
  readonly key: string;
  /** Verified tokens remembered until they expire (a hot RPC sees the same token often). */
  readonly cacheSize?: number;
  /** Allowed clock skew between the minting and the verifying host. */
  readonly clockToleranceSeconds?: number;
}

export interface CallerVerifier {
  /** The caller of this call; UnauthenticatedError when the token is missing, forged or expired. */
  verify(metadata: Metadata): Promise<Caller>;
}

export function createCallerVerifier(options: CallerVerifierOptions): CallerVerifier {
  const keys = keysOf(options.key);
  const cacheSize = options.cacheSize ?? 10_000;
  const tolerance = options.clockToleranceSeconds ?? 30;
  const verified = new Map<string, { caller: Caller; expiresAtMs: number }>();

  async function verifyToken(token: string): Promise<{ caller: Caller; expiresAtMs: number }> {
    let lastError: unknown;
    for (const key of keys) {
      try {
        const { payload } = await jwtVerify<CallerClaims>(token, key, {
          issuer: ISSUER,
          audience: AUDIENCE,
          algorithms: ['HS256'],
          clockTolerance: tolerance,
          requiredClaims: ['exp', 'sub'],
        });
        return { caller: callerFromClaims(payload), expiresAtMs: (payload.exp! + tolerance) * 1000 };
      } catch (error) {
        if (error instanceof UnauthenticatedError) throw error;
        lastError = error;
        // Another key may have signed it; an expired or malformed token fails with every key.
        if (!(error instanceof joseErrors.JWSSignatureVerificationFailed)) break;
      }
    }
    if (lastError instanceof joseErrors.JWTExpired) throw new UnauthenticatedError('caller token expired');
    throw new UnauthenticatedError('caller token invalid');
  }

  return {
    async verify(metadata) {
      const values = metadata.get(CALLER_METADATA_KEY);
      const token = values.length === 1 && typeof values[0] === 'string' ? values[0] : undefined;
      if (!token) throw new UnauthenticatedError(`no caller token (${CALLER_METADATA_KEY} metadata)`);
      const now = Date.now();
      const known = verified.get(token);
      if (known && known.expiresAtMs > now) return known.caller;
      if (known) verified.delete(token);
      const fresh = await verifyToken(token);
      if (verified.size >= cacheSize) verified.delete(verified.keys().next().value!);
      verified.set(token, fresh);
      return fresh.caller;
    },
  };
}

/** PermissionDeniedError unless the caller has one of the roles. */
export function requireRole(caller: Caller, ...roles: readonly Role[]): void {
  if (!roles.includes(caller.role))
    throw new PermissionDeniedError(`role ${caller.role} may not do this (needs ${roles.join(' or ')})`);
}

/** A bulk import's row problem when the row's compound is outside the caller's scope (none if inside). */
export function scopeProblems(caller: Caller, compoundId: string): { field: string; description: string }[] {
  return hasCompound(caller, compoundId)
    ? []
    : [{ field: 'compound_id', description: "outside the caller's compounds" }];
}

/** True when the caller's scope includes the compound (listed, or under one of its areas). */
export function hasCompound(caller: Caller, compoundId: string): boolean {
  if (caller.compounds === 'all' || caller.compounds.includes(compoundId)) return true;
  return caller.areas?.some((area) => compoundId.startsWith(area)) ?? false;
}

/** PermissionDeniedError unless the caller's scope includes the compound. */
export function requireCompound(caller: Caller, compoundId: string): void {
  if (!hasCompound(caller, compoundId))
    throw new PermissionDeniedError(`compound ${compoundId} is outside the caller's scope`);
}

/**
 * A client interceptor naming the caller on every call (unless the call's own metadata already
 * does): `createGrpcClient(def, address, { interceptors: [callerInterceptor(caller, key)] })`.
 * The token is minted once and again when less than a third of its lifetime is left.
 */
export function callerInterceptor(caller: Caller, key: string, options: MintOptions = {}): Interceptor {
  const tokens = callerTokens(key, { ...options, maxCallers: 1 });
  return (callOptions, nextCall) =>
    new InterceptingCall(
      nextCall(callOptions),
      new RequesterBuilder()
        .withStart((metadata, listener, next) => {
          if (metadata.get(CALLER_METADATA_KEY).length > 0) return next(metadata, listener);
          // grpc-js holds the call's messages until start continues.
          tokens.token(caller).then(
            (value) => {
              metadata.set(CALLER_METADATA_KEY, value);
              next(metadata, listener);
            },
            () => next(metadata, listener), // the server answers UNAUTHENTICATED, with the reason
          );
        })
        .build(),
    );
}

/**
 * The service with every call authenticated before its handler runs: a call without a valid
 * caller token is UNAUTHENTICATED whatever its request holds (no validation error leaks to an
 * anonymous caller). Handlers still read the caller (cached) and check role and scope.
 */
export function authenticatedService<D extends ServiceDefinition>(
  service: GrpcService<D>,
  verifier: CallerVerifier,
): GrpcService<D> {
  type AnyHandler = (request: unknown, ctx: CallContext) => unknown;
  const implementation: Record<string, AnyHandler> = {};
  for (const [name, handler] of Object.entries(service.implementation as Record<string, AnyHandler>)) {
    const method = service.definition[name]!;
    implementation[name] = method.responseStream
      ? async function* (request, ctx) {
          await verifier.verify(ctx.metadata);
          yield* handler(request, ctx) as AsyncIterable<unknown>;
        }
      : async (request, ctx) => {
          await verifier.verify(ctx.metadata);
          return handler(request, ctx);
        };
  }
  return {
    definition: service.definition,
    implementation: implementation as GrpcService<D>['implementation'],
  };
}
