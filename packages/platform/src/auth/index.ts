/**
 * Caller identity on gRPC calls: signed caller tokens, their verification, and the role and
 * compound-scope checks every handler makes. See README.md § auth.
 */
export {
  CALLER_METADATA_KEY,
  ROLES,
  authenticatedService,
  callerInterceptor,
  callerTokens,
  createCallerVerifier,
  hasCompound,
  scopeProblems,
  isRole,
  mintCallerMetadata,
  mintCallerToken,
  requireCompound,
  requireRole,
  type Caller,
  type CallerTokens,
  type CallerTokensOptions,
  type CallerVerifier,
  type CallerVerifierOptions,
  type MintOptions,
  type Role,
} from './caller.ts';
export { callerAuthEnv } from './config.ts';
export { compoundScope, inCompoundScope, scopeCondition, scopeParams, type CompoundScope } from './scope.ts';
