import { Metadata } from '@grpc/grpc-js';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PermissionDeniedError, UnauthenticatedError } from '../grpc/errors.ts';
import {
  CALLER_METADATA_KEY,
  callerTokens,
  createCallerVerifier,
  mintCallerMetadata,
  mintCallerToken,
  requireCompound,
  requireRole,
  type Caller,
} from './caller.ts';
import { callerAuthEnv } from './config.ts';

const KEY = 'k'.repeat(32);
const OTHER = 'o'.repeat(32);
const police: Caller = {
  subject: 'u-7',
  name: 'Officer Li',
  role: 'police',
  compounds: 'all',
  purpose: 'case 42',
};
const staff: Caller = { subject: 'u-8', role: 'property_staff', compounds: ['370303001000001'] };

function withToken(token: string): Metadata {
  const metadata = new Metadata();
  metadata.set(CALLER_METADATA_KEY, token);
  return metadata;
}

describe('caller tokens', () => {
  it('round-trips role, scope, name and purpose', async () => {
    const verifier = createCallerVerifier({ key: KEY });
    expect(await verifier.verify(await mintCallerMetadata(police, KEY))).toEqual(police);
    expect(await verifier.verify(await mintCallerMetadata(staff, KEY))).toEqual(staff);
  });

  it('refuses a missing, forged, tampered or expired token as UNAUTHENTICATED', async () => {
    const verifier = createCallerVerifier({ key: KEY });
    await expect(verifier.verify(new Metadata())).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(verifier.verify(withToken(await mintCallerToken(police, OTHER)))).rejects.toThrow(
      'caller token invalid',
    );
    const [header, payload, signature] = (await mintCallerToken(staff, KEY)).split('.');
    const widened = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), compounds: '*' }),
    ).toString('base64url');
    await expect(verifier.verify(withToken(`${header}.${widened}.${signature}`))).rejects.toBeInstanceOf(
      UnauthenticatedError,
    );
    const expired = await mintCallerToken(police, KEY, { ttlSeconds: -120 });
    await expect(verifier.verify(withToken(expired))).rejects.toThrow('caller token expired');
  });

  it('refuses a validly signed token without a known role or a scope', async () => {
    const verifier = createCallerVerifier({ key: KEY });
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('u-1')
        .setIssuer('anfang')
        .setAudience('anfang-services')
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(KEY));
    await expect(verifier.verify(withToken(await sign({ role: 'root', compounds: '*' })))).rejects.toThrow(
      'no valid role',
    );
    await expect(verifier.verify(withToken(await sign({ role: 'guard' })))).rejects.toThrow(
      'no valid compound scope',
    );
  });

  it('verifies with every listed key and signs with the first (rotation)', async () => {
    const oldToken = await mintCallerToken(staff, OTHER);
    const rotated = createCallerVerifier({ key: `${KEY},${OTHER}` });
    expect(await rotated.verify(withToken(oldToken))).toEqual(staff);
    const newToken = await mintCallerToken(staff, `${KEY},${OTHER}`);
    expect(await createCallerVerifier({ key: KEY }).verify(withToken(newToken))).toEqual(staff);
  });

  it('refuses keys shorter than 32 bytes, in code and in configuration', async () => {
    expect(() => createCallerVerifier({ key: 'short' })).toThrow('shorter than 32 bytes');
    await expect(mintCallerToken(police, `${KEY},short`)).rejects.toThrow('shorter than 32 bytes');
    expect(callerAuthEnv.safeParse({ CALLER_TOKEN_KEY: 'short' }).success).toBe(false);
    expect(callerAuthEnv.safeParse({ CALLER_TOKEN_KEY: `${KEY},${OTHER}` }).success).toBe(true);
  });
});

describe('caller tokens reused per caller', () => {
  afterEach(() => vi.useRealTimers());

  it('gives one caller the same token until a third of its lifetime is left, then a new one', async () => {
    vi.useFakeTimers({ now: new Date('2026-11-29T08:00:00Z'), toFake: ['Date'] });
    const tokens = callerTokens(KEY, { ttlSeconds: 60 });
    const first = await tokens.token(staff);
    expect(await tokens.token({ ...staff })).toBe(first);
    vi.setSystemTime(new Date('2026-11-29T08:00:39Z'));
    expect(await tokens.token(staff)).toBe(first);
    vi.setSystemTime(new Date('2026-11-29T08:00:41Z'));
    const second = await tokens.token(staff);
    expect(second).not.toBe(first);
    expect(await createCallerVerifier({ key: KEY }).verify(withToken(second))).toEqual(staff);
  });

  it('gives a token of its own to every different claim set: subject, role, scope, purpose', async () => {
    const tokens = callerTokens(KEY);
    const variants: Caller[] = [
      staff,
      { ...staff, subject: 'u-9' },
      { ...staff, role: 'guard' },
      { ...staff, compounds: ['370303001000002'] },
      { ...staff, compounds: 'all' },
      { ...staff, areas: ['370303'] },
      { ...staff, purpose: 'case 43' },
      { ...staff, name: '王五' },
    ];
    const minted = await Promise.all(variants.map((c) => tokens.token(c)));
    expect(new Set(minted).size).toBe(variants.length);
    const verifier = createCallerVerifier({ key: KEY });
    for (const caller of variants)
      expect(await verifier.verify(await tokens.metadata(caller))).toEqual(caller);
  });

  it('keeps at most maxCallers tokens, dropping the oldest', async () => {
    vi.useFakeTimers({ now: new Date('2026-11-29T08:00:00Z'), toFake: ['Date'] });
    const tokens = callerTokens(KEY, { maxCallers: 2 });
    const staffToken = await tokens.token(staff);
    const policeToken = await tokens.token(police);
    // A token minted a second later differs (its iat and exp): a kept token is recognisable.
    vi.setSystemTime(new Date('2026-11-29T08:00:01Z'));
    await tokens.token({ ...staff, subject: 'u-9' });
    expect(await tokens.token(police)).toBe(policeToken);
    expect(await tokens.token(staff)).not.toBe(staffToken);
  });
});

describe('role and scope checks', () => {
  it('requireRole passes listed roles and refuses others', () => {
    expect(() => requireRole(police, 'police', 'district_admin')).not.toThrow();
    expect(() => requireRole(staff, 'police', 'district_admin')).toThrow(PermissionDeniedError);
  });

  it('an area scope covers every compound under its standard-address code, and only those', async () => {
    const officer: Caller = { subject: 'u-9', role: 'street_officer', compounds: [], areas: ['370303001'] };
    expect(await createCallerVerifier({ key: KEY }).verify(await mintCallerMetadata(officer, KEY))).toEqual(
      officer,
    );
    expect(() => requireCompound(officer, '370303001002003')).not.toThrow();
    expect(() => requireCompound(officer, '370303002001001')).toThrow(PermissionDeniedError);
    const sign = (areas: unknown) =>
      new SignJWT({ role: 'street_officer', compounds: [], areas })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('u-1')
        .setIssuer('anfang')
        .setAudience('anfang-services')
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(KEY));
    await expect(createCallerVerifier({ key: KEY }).verify(withToken(await sign([''])))).rejects.toThrow(
      'invalid area scope',
    );
  });
  it('requireCompound passes compounds in scope and every compound for "all"', () => {
    expect(() => requireCompound(staff, '370303001000001')).not.toThrow();
    expect(() => requireCompound(staff, '370303001000002')).toThrow(PermissionDeniedError);
    expect(() => requireCompound(police, '370303001000002')).not.toThrow();
  });
});
