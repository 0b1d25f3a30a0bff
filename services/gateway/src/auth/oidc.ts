/**
 * Tokens of a city identity provider (OIDC access or ID tokens, JWTs): signature against the
 * provider's JWKS (jose's createRemoteJWKSet: fetched, cached, refreshed on an unknown key id),
 * issuer, audience, expiry; then its claims mapped to an Anfang role and scope.
 */
import { isRole } from '@anfang/platform/auth';
import { UnauthenticatedError } from '@anfang/platform/grpc';
import {
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { PERSON_ROLES } from '../domain/policy.ts';
import type { Principal } from '../domain/principal.ts';

export interface OidcOptions {
  readonly issuer: string;
  readonly audience: string;
  /** The JWKS URL, or a key set (tests). */
  readonly jwks: string | JWTVerifyGetKey;
  readonly roleClaim: string;
  readonly roleMap: Readonly<Record<string, string>>;
  readonly compoundsClaim: string;
  readonly areasClaim: string;
}

export type OidcVerifier = (token: string) => Promise<Principal>;

/** Asymmetric algorithms only: a provider's token signed with a shared secret is refused. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export function principalFromClaims(claims: JWTPayload, options: OidcOptions): Principal {
  if (typeof claims.sub !== 'string' || claims.sub === '')
    throw new UnauthenticatedError('token has no subject');
  const raw = claims[options.roleClaim];
  const values = Array.isArray(raw) ? raw : [raw];
  const role = values
    .filter((v): v is string => typeof v === 'string')
    .map((v) => options.roleMap[v] ?? v)
    .find((v) => isRole(v) && (PERSON_ROLES as readonly string[]).includes(v));
  if (!role || !isRole(role))
    throw new UnauthenticatedError(`token has no Anfang role in ${options.roleClaim}`);
  const compoundsClaim = claims[options.compoundsClaim];
  const areasClaim = claims[options.areasClaim] ?? [];
  const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
  let compounds: Principal['compounds'];
  if (compoundsClaim === '*') compounds = 'all';
  else if (strings(compoundsClaim)) compounds = compoundsClaim;
  else if (compoundsClaim === undefined) compounds = [];
  else throw new UnauthenticatedError(`token has an invalid ${options.compoundsClaim}`);
  if (!strings(areasClaim) || !areasClaim.every((a) => /^\d{6,}$/.test(a)))
    throw new UnauthenticatedError(`token has an invalid ${options.areasClaim}`);
  const name =
    typeof claims.name === 'string'
      ? claims.name
      : typeof claims.preferred_username === 'string'
        ? claims.preferred_username
        : claims.sub;
  return { subject: `oidc:${claims.sub}`, name, role, compounds, areas: areasClaim, source: 'oidc' };
}

export function createOidcVerifier(options: OidcOptions): OidcVerifier {
  const keys = typeof options.jwks === 'string' ? createRemoteJWKSet(new URL(options.jwks)) : options.jwks;
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: ALGORITHMS,
        clockTolerance: 30,
        requiredClaims: ['exp', 'sub'],
      });
      return principalFromClaims(payload, options);
    } catch (error) {
      if (error instanceof UnauthenticatedError) throw error;
      if (error instanceof joseErrors.JWTExpired)
        throw new UnauthenticatedError('token expired', { reason: 'TOKEN_EXPIRED' });
      if (error instanceof joseErrors.JWTClaimValidationFailed)
        throw new UnauthenticatedError(`token refused: ${error.claim} does not match`, {
          reason: 'TOKEN_INVALID',
        });
      throw new UnauthenticatedError('token invalid', { reason: 'TOKEN_INVALID' });
    }
  };
}
