/**
 * People act on the platform the way they do in production: through the gateway's REST API with
 * a signed-in session.
 */
import { randomBytes } from 'node:crypto';
import type { LocalPlatform } from './platform.ts';

export type Rest = <T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH', path: string, body?: unknown) => Promise<T>;

function caller(platform: LocalPlatform, token: string): Rest {
  return async <T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH', path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${platform.httpUrl('gateway')}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return (text ? JSON.parse(text) : {}) as T;
  };
}

/**
 * Signs `username` in and returns a REST caller that fails with the status and body it got. A
 * password the gateway marks expired (a new account's) is changed first, as the user would.
 */
export async function signIn(platform: LocalPlatform, username: string, password: string): Promise<Rest> {
  const login = await fetch(`${platform.httpUrl('gateway')}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
    signal: AbortSignal.timeout(20_000),
  });
  if (!login.ok) throw new Error(`sign-in of ${username}: ${login.status} ${await login.text()}`);
  const session = (await login.json()) as { token: string; user: { passwordExpired?: boolean } };
  const rest = caller(platform, session.token);
  if (session.user.passwordExpired)
    await rest('POST', '/auth/password', { currentPassword: password, newPassword: `${password}-2` });
  return rest;
}

/** A new account of `role` for `compounds`, made by an account administrator, signed in. */
export async function signInNewAccount(
  platform: LocalPlatform,
  admin: Rest,
  role: string,
  compounds: readonly string[],
): Promise<Rest> {
  const username = `${role}-${randomBytes(4).toString('hex')}`;
  const password = `pw-${randomBytes(12).toString('base64url')}`;
  await admin('POST', '/auth/users', {
    username,
    displayName: username,
    password,
    role,
    compounds,
    areas: [],
  });
  return signIn(platform, username, password);
}
