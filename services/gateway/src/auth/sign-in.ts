/**
 * Signing in with a built-in account: password (argon2id), then the second factor when the
 * account has one, with lockout after repeated failures and the password rotation policy. Every
 * outcome is a distinct, public reason; none tells whether an unknown username exists.
 */
import { hash } from '@node-rs/argon2';
import { DomainError, PermissionDeniedError, UnauthenticatedError } from '@anfang/platform/grpc';
import { status } from '@grpc/grpc-js';
import type { Principal } from '../domain/principal.ts';
import type { Account, AccountStore } from '../store/accounts.ts';
import { totpStep } from './totp.ts';

/** 423 Locked: the account is locked until `lockedUntil`. */
export class AccountLockedError extends DomainError {
  override readonly name = 'AccountLockedError';
  readonly grpcCode = status.PERMISSION_DENIED;
  readonly lockedUntil: Date;
  constructor(lockedUntil: Date) {
    super(`the account is locked until ${lockedUntil.toISOString()}`, { reason: 'ACCOUNT_LOCKED' });
    this.lockedUntil = lockedUntil;
  }
  override get httpStatus(): number {
    return 423;
  }
}

export interface SignInPolicy {
  readonly lockoutThreshold: number;
  readonly lockoutMinutes: number;
  readonly passwordMaxAgeDays: number;
}

export interface SignInAttempt {
  readonly username: string;
  readonly password: string;
  readonly totp?: string | undefined;
}

/** A hash to verify against when the username is unknown, so that timing does not tell. */
const decoy = hash('decoy password, never matches', { memoryCost: 19_456, timeCost: 2, parallelism: 1 });

export function passwordExpired(account: Account, policy: SignInPolicy, now = Date.now()): boolean {
  return now - account.passwordChangedAt.getTime() > policy.passwordMaxAgeDays * 86_400_000;
}

export function principalOf(account: Account, policy: SignInPolicy): Omit<Principal, 'sessionId'> {
  return {
    subject: `user:${account.userId}`,
    name: account.displayName,
    role: account.role,
    compounds: account.compounds,
    areas: account.areas,
    source: 'local',
    passwordExpired: passwordExpired(account, policy),
  };
}

export async function signIn(
  accounts: AccountStore,
  policy: SignInPolicy,
  attempt: SignInAttempt,
): Promise<Account> {
  const invalid = () =>
    new UnauthenticatedError('wrong username or password', { reason: 'INVALID_CREDENTIALS' });
  const account = await accounts.byUsername(attempt.username);
  if (!account || account.disabled) {
    const { verify } = await import('@node-rs/argon2');
    await verify(await decoy, attempt.password);
    throw invalid();
  }
  if (account.lockedUntil && account.lockedUntil.getTime() > Date.now())
    throw new AccountLockedError(account.lockedUntil);
  const fail = async (error: DomainError): Promise<never> => {
    const locked = await accounts.recordFailure(
      account.userId,
      policy.lockoutThreshold,
      policy.lockoutMinutes,
    );
    if (locked && locked.getTime() > Date.now()) throw new AccountLockedError(locked);
    throw error;
  };
  if (!(await accounts.verifyPassword(account.userId, attempt.password))) return fail(invalid());
  if (account.totpEnabled) {
    if (!attempt.totp)
      throw new UnauthenticatedError('a one-time code is required', { reason: 'TOTP_REQUIRED' });
    const secret = await accounts.totpSecret(account.userId);
    const step = secret ? totpStep(secret, attempt.totp) : undefined;
    if (step === undefined || !(await accounts.useTotpStep(account.userId, step)))
      return fail(
        new UnauthenticatedError('the one-time code is wrong or was used already', {
          reason: 'TOTP_INVALID',
        }),
      );
  }
  await accounts.recordSuccess(account.userId);
  return account;
}

/** A session whose password expired may only change it (and sign out). */
export function requireCurrentPassword(principal: Principal): void {
  if (principal.passwordExpired)
    throw new PermissionDeniedError('the password has expired: change it first (POST /auth/password)', {
      reason: 'PASSWORD_EXPIRED',
    });
}
