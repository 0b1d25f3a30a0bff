/**
 * Who may call what. Every RPC verifies the caller token, then the role, then the compound the
 * request concerns. Watchlists are the police's alone; vehicles and site configuration are the
 * property office's and managers'; guards release held vehicles; residents authorise visitors.
 * Town/street offices and auditors read (auditors masked, as the gateway shows them).
 */
import {
  requireCompound,
  requireRole,
  type Caller,
  type CallerVerifier,
  type Role,
} from '@anfang/platform/auth';
import type { CallContext } from '@anfang/platform/grpc';

export const ROLES = {
  manageRegistry: ['property_staff', 'community_manager', 'district_admin'],
  readRegistry: [
    'property_staff',
    'community_manager',
    'street_officer',
    'district_admin',
    'guard',
    'police',
    'auditor',
  ],
  authoriseVisitors: ['resident', 'property_staff', 'community_manager'],
  releaseHeld: ['guard', 'property_staff', 'community_manager'],
  readPassages: [
    'guard',
    'property_staff',
    'community_manager',
    'street_officer',
    'district_admin',
    'police',
    'auditor',
  ],
  watchlist: ['police'],
} as const satisfies Record<string, readonly Role[]>;

export type Access = (ctx: CallContext, roles: readonly Role[], compoundId?: string) => Promise<Caller>;

export function createAccess(verifier: CallerVerifier): Access {
  return async (ctx, roles, compoundId) => {
    const caller = await verifier.verify(ctx.metadata);
    requireRole(caller, ...roles);
    if (compoundId !== undefined) requireCompound(caller, compoundId);
    return caller;
  };
}
