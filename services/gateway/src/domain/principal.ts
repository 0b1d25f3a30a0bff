/**
 * Who is asking, however they signed in: the gateway's own session or an identity provider's
 * token both end here, and this is what the caller token to a service is minted from.
 */
import { hasCompound, type Caller, type Role } from '@anfang/platform/auth';

export interface Principal {
  readonly subject: string;
  readonly name: string;
  readonly role: Role;
  readonly compounds: 'all' | readonly string[];
  /** Standard-address code prefixes (district, town/street). */
  readonly areas: readonly string[];
  readonly source: 'local' | 'oidc';
  /** Set when the session may only change its expired password. */
  readonly passwordExpired?: boolean;
  /** The session (local sign-in), for sign-out. */
  readonly sessionId?: string;
}

export function callerOf(principal: Principal, purpose?: string): Caller {
  return {
    subject: principal.subject,
    name: principal.name,
    role: principal.role,
    compounds: principal.compounds,
    ...(principal.areas.length > 0 ? { areas: principal.areas } : {}),
    ...(purpose ? { purpose } : {}),
  };
}

export function inScope(principal: Principal, compoundId: string): boolean {
  return hasCompound(callerOf(principal), compoundId);
}

/** A short description of the scope for audit rows: `all`, or the compounds and areas. */
export function scopeLabel(principal: Principal): string {
  if (principal.compounds === 'all') return 'all';
  return [...principal.compounds, ...principal.areas.map((a) => `${a}*`)].join(',');
}
