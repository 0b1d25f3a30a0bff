/**
 * Sign-in against the real gateway: lockout after 5 failures, TOTP enrolment and sign-in (a code
 * works once), password expiry, sign-out; OIDC tokens from a JWKS served over HTTP: accepted when
 * signed, fresh, for this audience; refused when tampered, expired, for another audience or issuer.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../src/auth/totp.ts';
import { startHarness, type Harness } from './harness.ts';

const ISSUER = 'https://idp.example.gov.cn/realms/zibo';
const AUDIENCE = 'anfang-gateway';
let h: Harness;
let jwks: Server;
let key: CryptoKey;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  key = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  jwks = createServer((_req, res) =>
    res.setHeader('content-type', 'application/json').end(JSON.stringify({ keys: [jwk] })),
  );
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  h = await startHarness('gateway-auth', {
    OIDC_ISSUER: ISSUER,
    OIDC_AUDIENCE: AUDIENCE,
    OIDC_JWKS_URL: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks`,
    OIDC_ROLE_CLAIM: 'groups',
    OIDC_ROLE_MAP: JSON.stringify({ 'zibo-psb': 'police' }),
  });
}, 90_000);

afterAll(async () => {
  await h?.close();
  jwks?.close();
});

describe('built-in accounts', () => {
  it('locks an account after 5 failed sign-ins, even for the right password, until unlocked', async () => {
    const { username, password } = await h.user('property_staff', [h.compoundA]);
    for (let i = 0; i < 4; i++) {
      const r = await h.request('POST', '/auth/login', { body: { username, password: 'wrong password!' } });
      expect(r.status).toBe(401);
      expect(r.body).toMatchObject({ code: 'INVALID_CREDENTIALS' });
    }
    const fifth = await h.request('POST', '/auth/login', { body: { username, password: 'wrong password!' } });
    expect(fifth.status).toBe(423);
    expect(fifth.body).toMatchObject({ code: 'ACCOUNT_LOCKED' });
    const right = await h.request('POST', '/auth/login', { body: { username, password } });
    expect(right.status).toBe(423);
    const users = await h.request<{ users: { id: string; username: string; locked: boolean }[] }>(
      'GET',
      '/auth/users',
      {
        token: h.adminToken,
      },
    );
    const account = users.body.users.find((u) => u.username === username)!;
    expect(account.locked).toBe(true);
    expect(
      (await h.request('POST', `/auth/users/${account.id}/unlock`, { token: h.adminToken })).status,
    ).toBe(204);
    expect((await h.request('POST', '/auth/login', { body: { username, password } })).status).toBe(200);
  });

  it('does not tell an unknown username from a wrong password', async () => {
    const r = await h.request('POST', '/auth/login', {
      body: { username: 'nobody-here', password: 'whatever-it-is' },
    });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ code: 'INVALID_CREDENTIALS' });
  });

  it('enrols TOTP, then requires a code at sign-in and accepts each code once', async () => {
    const { username, password, token } = await h.user('community_manager', [h.compoundA]);
    const setup = await h.request<{ secret: string; otpauthUrl: string }>('POST', '/auth/totp/setup', {
      token,
    });
    expect(setup.status).toBe(200);
    expect(setup.body.otpauthUrl).toMatch(/^otpauth:\/\/totp\//);
    const wrongEnable = await h.request('POST', '/auth/totp/enable', { token, body: { code: '000000' } });
    expect(wrongEnable.status).toBe(400);
    // A code one step ahead, so that the sign-in below gets a later step of its own.
    const enrol = totpCode(setup.body.secret, Date.now() - 30_000);
    expect((await h.request('POST', '/auth/totp/enable', { token, body: { code: enrol } })).status).toBe(204);

    const withoutCode = await h.request('POST', '/auth/login', { body: { username, password } });
    expect(withoutCode.status).toBe(401);
    expect(withoutCode.body).toMatchObject({ code: 'TOTP_REQUIRED' });
    const wrongCode = await h.request('POST', '/auth/login', {
      body: { username, password, totp: '123456' },
    });
    expect(wrongCode.body).toMatchObject({ code: 'TOTP_INVALID' });
    const code = totpCode(setup.body.secret);
    const ok = await h.request<{ user: { totpEnabled: boolean } }>('POST', '/auth/login', {
      body: { username, password, totp: code },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.user.totpEnabled).toBe(true);
    const replay = await h.request('POST', '/auth/login', { body: { username, password, totp: code } });
    expect(replay.status).toBe(401);
    expect(replay.body).toMatchObject({ code: 'TOTP_INVALID' });
  });

  it('makes an expired password be changed before anything else', async () => {
    const { username, password } = await h.user('community_manager', [h.compoundA]);
    await h.sql.query(
      `UPDATE users SET password_changed_at = now() - interval '91 days' WHERE username = $1`,
      [username],
    );
    const token = await h.login(username, password);
    const me = await h.request<{ passwordExpired: boolean }>('GET', '/auth/me', { token });
    expect(me.body.passwordExpired).toBe(true);
    const blocked = await h.request('GET', `/v1/alarm/zones?compoundId=${h.compoundA}`, { token });
    expect(blocked.status).toBe(403);
    expect(blocked.body).toMatchObject({ code: 'PASSWORD_EXPIRED' });
    const weak = await h.request('POST', '/auth/password', {
      token,
      body: { currentPassword: password, newPassword: 'short' },
    });
    expect(weak.status).toBe(400);
    const changed = await h.request('POST', '/auth/password', {
      token,
      body: { currentPassword: password, newPassword: 'a much longer passphrase 42' },
    });
    expect(changed.status).toBe(204);
    expect((await h.request('GET', `/v1/alarm/zones?compoundId=${h.compoundA}`, { token })).status).toBe(200);
  });

  it('ends the session at sign-out', async () => {
    const { token } = await h.user('guard', [h.compoundA]);
    expect((await h.request('GET', '/auth/me', { token })).status).toBe(200);
    expect((await h.request('POST', '/auth/logout', { token })).status).toBe(204);
    const after = await h.request('GET', '/auth/me', { token });
    expect(after.status).toBe(401);
    expect(after.body).toMatchObject({ code: 'SESSION_ENDED' });
  });

  it('sets an HttpOnly, SameSite=Strict session cookie that authenticates the browser', async () => {
    const { username, password } = await h.user('guard', [h.compoundA]);
    const r = await fetch(`${h.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    const cookie = r.headers.get('set-cookie')!;
    expect(cookie).toMatch(/anfang_session=[^;]+;.*HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    const me = await fetch(`${h.url}/auth/session`, { headers: { cookie: cookie.split(';')[0]! } });
    expect(me.status).toBe(200);
    // An ended session's cookie: API calls say so, signing in again still works.
    const ended = { cookie: cookie.split(';')[0]! };
    await fetch(`${h.url}/auth/logout`, { method: 'POST', headers: ended });
    const after = await fetch(`${h.url}/auth/session`, { headers: ended });
    expect(after.status).toBe(401);
    expect(await after.json()).toMatchObject({ code: 'SESSION_ENDED' });
    const again = await fetch(`${h.url}/auth/login`, {
      method: 'POST',
      headers: { ...ended, 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    expect(again.status).toBe(200);
  });
});

describe('OIDC tokens of a city identity provider', () => {
  const sign = (
    claims: Record<string, unknown>,
    options: { aud?: string; iss?: string; exp?: string | number } = {},
  ) =>
    new SignJWT({ groups: ['zibo-psb'], anfang_compounds: '*', name: '王警官', ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setSubject('officer-17')
      .setIssuer(options.iss ?? ISSUER)
      .setAudience(options.aud ?? AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(options.exp ?? '5m')
      .sign(key);

  it('maps the claims of a valid token to a role and scope', async () => {
    const token = await sign({});
    const me = await h.request('GET', '/auth/me', { token });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      role: 'police',
      compounds: 'all',
      source: 'oidc',
      displayName: '王警官',
    });
    expect((await h.request('GET', `/v1/alarm/zones?compoundId=${h.compoundA}`, { token })).status).toBe(200);
  });

  it('refuses tampered, expired, wrong-audience and wrong-issuer tokens', async () => {
    const valid = await sign({ anfang_compounds: [h.compoundB], groups: ['zibo-psb'] });
    const [header, payload, signature] = valid.split('.');
    const widened = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), anfang_compounds: '*' }),
    ).toString('base64url');
    const cases = {
      tampered: `${header}.${widened}.${signature}`,
      expired: await sign({}, { exp: Math.floor(Date.now() / 1000) - 120 }),
      audience: await sign({}, { aud: 'another-app' }),
      issuer: await sign({}, { iss: 'https://evil.example.com' }),
      noRole: await sign({ groups: ['visitors'] }),
    };
    for (const [name, token] of Object.entries(cases)) {
      const r = await h.request('GET', '/auth/me', { token });
      expect([name, r.status]).toEqual([name, 401]);
    }
  });
});
