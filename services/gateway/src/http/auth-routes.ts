/** `/auth/*`: sign-in and out, the signed-in user, password and TOTP, accounts (README). */
import type { Request, Response, Router } from 'express';
import { isRole, requireRole, type Role } from '@anfang/platform/auth';
import { InvalidArgumentError, PermissionDeniedError, UnauthenticatedError } from '@anfang/platform/grpc';
import { z } from 'zod';
import {
  signIn,
  principalOf as principalOfAccount,
  passwordExpired,
  requireCurrentPassword,
  type SignInPolicy,
} from '../auth/sign-in.ts';
import { newTotpSecret, totpStep } from '../auth/totp.ts';
import type { AuditEntry } from '../domain/audit-chain.ts';
import { ACCOUNT_ADMIN_ROLES, PERSON_ROLES } from '../domain/policy.ts';
import type { Principal } from '../domain/principal.ts';
import { checkPassword, type Account, type AccountStore } from '../store/accounts.ts';
import type { SessionStore } from '../store/sessions.ts';
import { SESSION_COOKIE } from './authenticate.ts';
import { auditBase, maybePrincipal, principalOf } from './context.ts';

export interface AuthRouteDeps {
  readonly accounts: AccountStore;
  readonly sessions: SessionStore;
  readonly policy: SignInPolicy;
  readonly audit: (entry: AuditEntry) => Promise<unknown>;
  /** Secure cookies (off only for plain-HTTP development and tests). */
  readonly secureCookies: boolean;
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  throw new InvalidArgumentError(
    'the request body is invalid',
    result.error.issues.map((i) => ({ field: i.path.join('.') || 'body', description: i.message })),
  );
}

const loginBody = z.strictObject({
  username: z.string().min(1).max(100),
  password: z.string().min(1).max(256),
  totp: z.string().max(10).optional(),
});
const passwordBody = z.strictObject({
  currentPassword: z.string().min(1).max(256),
  newPassword: z.string().max(256),
});
const codeBody = z.strictObject({ code: z.string().max(10) });
const area = z.string().regex(/^\d{6,}$/, 'a standard-address code of a district or town/street');
const userBody = z.strictObject({
  username: z.string().regex(/^[A-Za-z0-9._@-]{3,64}$/, '3-64 letters, digits or ._@-'),
  displayName: z.string().min(1).max(100),
  password: z.string().max(256),
  role: z.enum(PERSON_ROLES),
  compounds: z.union([
    z.literal('all'),
    z.array(z.string().regex(/^\d{15}$/, 'a 15-digit compound id')).max(5000),
  ]),
  areas: z.array(area).max(100).default([]),
});

export function userJson(account: Account, policy: SignInPolicy): Record<string, unknown> {
  return {
    id: account.userId,
    username: account.username,
    displayName: account.displayName,
    role: account.role,
    compounds: account.compounds,
    areas: account.areas,
    totpEnabled: account.totpEnabled,
    passwordExpiresAt: new Date(
      account.passwordChangedAt.getTime() + policy.passwordMaxAgeDays * 86_400_000,
    ).toISOString(),
    passwordExpired: passwordExpired(account, policy),
    locked: account.lockedUntil !== undefined && account.lockedUntil.getTime() > Date.now(),
    source: 'local',
  };
}

function principalJson(principal: Principal): Record<string, unknown> {
  return {
    id: principal.subject,
    username: principal.subject,
    displayName: principal.name,
    role: principal.role,
    compounds: principal.compounds,
    areas: principal.areas,
    totpEnabled: false,
    passwordExpired: false,
    source: principal.source,
  };
}

const localUserId = (principal: Principal): string => {
  if (principal.source !== 'local')
    throw new PermissionDeniedError('accounts of the identity provider are managed there');
  return principal.subject.replace(/^user:/, '');
};

export function authRoutes(router: Router, deps: AuthRouteDeps): void {
  const { accounts, sessions, policy } = deps;
  const audit = (
    req: Request,
    res: Response,
    action: string,
    target: string,
    outcome: string,
    principal = maybePrincipal(res),
  ) => deps.audit({ ...auditBase(req, principal), action, target, outcome, purpose: '', details: {} });

  router.post('/auth/login', async (req, res) => {
    const attempt = parse(loginBody, req.body);
    let account: Account;
    try {
      account = await signIn(accounts, policy, attempt);
    } catch (error) {
      const reason = (error as { reason?: string }).reason ?? 'ERROR';
      await deps.audit({
        ...auditBase(req, undefined),
        subject: `login:${attempt.username}`,
        action: 'auth.login',
        target: attempt.username,
        outcome: reason,
        purpose: '',
        details: {},
      });
      throw error;
    }
    const principal = principalOfAccount(account, policy);
    const { token, session, idleEndsAt } = await sessions.create(principal);
    await audit(req, res, 'auth.login', account.username, 'ok', session.principal);
    res.cookie(SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: 'strict',
      secure: deps.secureCookies,
      path: '/',
      maxAge: session.endsAt - Date.now(),
    });
    res.json({ token, expiresAt: new Date(idleEndsAt).toISOString(), user: userJson(account, policy) });
  });

  router.post('/auth/logout', async (req, res) => {
    const principal = principalOf(res);
    if (principal.sessionId) await sessions.end(principal.sessionId);
    await audit(req, res, 'auth.logout', principal.subject, 'ok');
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    res.status(204).end();
  });

  // `/auth/session` is the dashboard's name for the same answer.
  router.get(['/auth/me', '/auth/session'], async (_req, res) => {
    const principal = principalOf(res);
    if (principal.source !== 'local') return void res.json(principalJson(principal));
    const account = await accounts.byId(localUserId(principal));
    if (!account) throw new UnauthenticatedError('the account no longer exists');
    res.json(userJson(account, policy));
  });

  router.post('/auth/password', async (req, res) => {
    const principal = principalOf(res);
    const userId = localUserId(principal);
    const body = parse(passwordBody, req.body);
    const account = await accounts.byId(userId);
    if (!account || !(await accounts.verifyPassword(userId, body.currentPassword)))
      throw new UnauthenticatedError('the current password is wrong', { reason: 'INVALID_CREDENTIALS' });
    if (body.newPassword === body.currentPassword)
      throw new InvalidArgumentError('the new password must differ from the current one', [
        { field: 'newPassword', description: 'must differ from the current password' },
      ]);
    checkPassword(body.newPassword, account.username);
    await accounts.setPassword(userId, body.newPassword);
    if (principal.sessionId)
      await sessions.update(principal.sessionId, { ...principal, passwordExpired: false });
    await audit(req, res, 'auth.password', account.username, 'ok');
    res.status(204).end();
  });

  router.post('/auth/totp/setup', async (req, res) => {
    const principal = principalOf(res);
    requireCurrentPassword(principal);
    const userId = localUserId(principal);
    const account = await accounts.byId(userId);
    if (!account) throw new UnauthenticatedError('the account no longer exists');
    if (account.totpEnabled) throw new InvalidArgumentError('a second factor is already enabled');
    const { secret, otpauthUrl } = newTotpSecret(account.username);
    await accounts.setPendingTotp(userId, secret);
    await audit(req, res, 'auth.totp.setup', account.username, 'ok');
    res.json({ secret, otpauthUrl });
  });

  router.post('/auth/totp/enable', async (req, res) => {
    const principal = principalOf(res);
    const userId = localUserId(principal);
    const { code } = parse(codeBody, req.body);
    const secret = await accounts.totpSecret(userId);
    const step = secret ? totpStep(secret, code) : undefined;
    if (step === undefined || !(await accounts.useTotpStep(userId, step)))
      throw new InvalidArgumentError('the one-time code is wrong', [
        { field: 'code', description: 'wrong code' },
      ]);
    await accounts.enableTotp(userId);
    await audit(req, res, 'auth.totp.enable', principal.subject, 'ok');
    res.status(204).end();
  });

  const admin = (res: Response): Principal => {
    const principal = principalOf(res);
    requireCurrentPassword(principal);
    requireRole({ ...principal, compounds: principal.compounds }, ...(ACCOUNT_ADMIN_ROLES as Role[]));
    return principal;
  };

  router.get('/auth/users', async (_req, res) => {
    admin(res);
    res.json({ users: (await accounts.list()).map((a) => userJson(a, policy)) });
  });

  router.post('/auth/users', async (req, res) => {
    const principal = admin(res);
    const body = parse(userBody, req.body);
    if (!isRole(body.role)) throw new InvalidArgumentError(`unknown role ${body.role}`);
    // Nobody hands out more than they hold.
    if (principal.compounds !== 'all' && (body.compounds === 'all' || body.areas.length > 0))
      throw new PermissionDeniedError('only an account with every compound may grant "all" or areas');
    const account = await accounts.create(body);
    await audit(req, res, 'auth.user.create', account.username, 'ok');
    res.status(201).json(userJson(account, policy));
  });

  router.post('/auth/users/:id/unlock', async (req, res) => {
    admin(res);
    const id = String(req.params.id);
    if (!/^[0-9a-f-]{36}$/.test(id)) throw new InvalidArgumentError('not a user id');
    await accounts.unlock(id);
    await audit(req, res, 'auth.user.unlock', id, 'ok');
    res.status(204).end();
  });
}
