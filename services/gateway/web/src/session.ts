import { api, ApiError } from './api.ts';

/** The signed-in user as `GET /auth/me` returns it. */
export interface User {
  readonly id: string;
  readonly username: string;
  readonly displayName?: string;
  readonly role: string;
  readonly compounds?: 'all' | readonly string[];
  readonly areas?: readonly string[];
  readonly totpEnabled?: boolean;
  readonly passwordExpiresAt?: string;
  readonly passwordExpired?: boolean;
}

export interface Session {
  readonly user: User;
  readonly expiresAt?: string;
}

export type SignInOutcome =
  | { readonly ok: true; readonly session: Session }
  | { readonly ok: false; readonly needsTotp: boolean; readonly reason: string };

/** Roles that place markers on a compound's plan (the gateway and services check again). */
const PLAN_EDITORS = new Set(['property_staff', 'community_manager', 'district_admin', 'platform_operator']);

export function canEditPlan(user: User): boolean {
  return PLAN_EDITORS.has(user.role);
}

/** The one compound a user is limited to, if they are limited to exactly one. */
export function onlyCompound(user: User): string | undefined {
  return Array.isArray(user.compounds) && user.compounds.length === 1 && !(user.areas ?? []).length
    ? (user.compounds[0] as string)
    : undefined;
}

export async function currentSession(): Promise<Session | undefined> {
  try {
    return { user: await api.get<User>('/auth/me') };
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return undefined;
    throw error;
  }
}

export async function signIn(username: string, password: string, totp: string): Promise<SignInOutcome> {
  try {
    const answer = await api.post<{ user: User; expiresAt?: string }>('/auth/login', {
      username,
      password,
      ...(totp ? { totp } : {}),
    });
    return {
      ok: true,
      session: { user: answer.user, ...(answer.expiresAt ? { expiresAt: answer.expiresAt } : {}) },
    };
  } catch (error) {
    if (!(error instanceof ApiError) || ![400, 401, 423, 429].includes(error.status)) throw error;
    const reason = error.code ?? (error.status === 423 ? 'ACCOUNT_LOCKED' : 'INVALID_CREDENTIALS');
    return { ok: false, needsTotp: reason === 'TOTP_REQUIRED' || reason === 'TOTP_INVALID', reason };
  }
}

export async function changePassword(currentPassword: string, newPassword: string): Promise<void> {
  await api.post('/auth/password', { currentPassword, newPassword });
}

export async function signOut(): Promise<void> {
  await api.post('/auth/logout');
}
