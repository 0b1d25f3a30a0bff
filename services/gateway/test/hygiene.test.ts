/**
 * Security hygiene of the real gateway: security headers, CORS for the configured origins only,
 * per-user and per-address rate limits counted in Redis (429 with retry-after), the docs page and
 * the document.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.ts';

const DASHBOARD = 'https://dash.zibo.example.gov.cn';
const ADDRESS_LIMIT = 30;
let h: Harness;

beforeAll(async () => {
  h = await startHarness('gateway-hygiene', {
    GATEWAY_CORS_ORIGINS: DASHBOARD,
    GATEWAY_RATE_LIMIT_USER_PER_MINUTE: '8',
    // One proxy hop, so each test request names its client address in x-forwarded-for.
    GATEWAY_TRUST_PROXY: '1',
    GATEWAY_RATE_LIMIT_ADDRESS_PER_MINUTE: String(ADDRESS_LIMIT),
  });
}, 90_000);

afterAll(async () => {
  await h?.close();
});

describe('security hygiene', () => {
  it('sends security headers', async () => {
    const r = await fetch(`${h.url}/openapi.json`);
    expect(r.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('strict-transport-security')).toContain('max-age=');
    expect(r.headers.get('x-powered-by')).toBeNull();
  });

  it('allows cross-origin calls from the configured origins only', async () => {
    const preflight = (origin: string) =>
      fetch(`${h.url}/v1/alarm/zones`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      });
    expect((await preflight(DASHBOARD)).headers.get('access-control-allow-origin')).toBe(DASHBOARD);
    expect(
      (await preflight('https://evil.example.com')).headers.get('access-control-allow-origin'),
    ).toBeNull();
  });

  it('limits each user’s requests per minute with 429 and retry-after', async () => {
    const { token } = await h.user('guard', [h.compoundA]);
    // Fixed one-minute windows: a window may turn over during the loop, so allow one reset.
    let allowed = 0;
    let limited = await h.request('GET', '/auth/me', { token });
    while (limited.status === 200 && allowed < 20) {
      allowed++;
      limited = await h.request('GET', '/auth/me', { token });
    }
    expect(allowed).toBeGreaterThanOrEqual(7);
    expect(allowed).toBeLessThanOrEqual(16);
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ code: 'RATE_LIMITED' });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another user is not slowed down by this one.
    const other = await h.user('guard', [h.compoundA]);
    expect((await h.request('GET', '/auth/me', { token: other.token })).status).toBe(200);
  });

  it('limits each client address per minute, before any sign-in, and not another address', async () => {
    const from = (address: string) =>
      h.request('GET', '/openapi.json', { headers: { 'x-forwarded-for': address } });
    // Fixed one-minute windows: a window may turn over during the loop, so allow one reset.
    let allowed = 0;
    let limited = await from('198.51.100.7');
    while (limited.status === 200 && allowed < ADDRESS_LIMIT * 2 + 2) {
      allowed++;
      limited = await from('198.51.100.7');
    }
    expect(allowed).toBeGreaterThanOrEqual(ADDRESS_LIMIT - 1);
    expect(allowed).toBeLessThanOrEqual(ADDRESS_LIMIT * 2);
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ code: 'RATE_LIMITED' });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Sign-in is behind the same limit: a flood of password guesses from one address stops too.
    const guess = await h.request('POST', '/auth/login', {
      headers: { 'x-forwarded-for': '198.51.100.7' },
      body: { username: 'admin', password: 'wrong-password-guess' },
    });
    expect(guess.status).toBe(429);
    expect((await from('198.51.100.8')).status).toBe(200);
  });

  it('serves the OpenAPI document and a docs page that loads only its own scripts', async () => {
    const doc = await h.request<{ openapi: string; paths: object }>('GET', '/openapi.json');
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.body.paths)).toContain('/v1/alarm/alarms/{alarm_id}:acknowledge');
    const page = await fetch(`${h.url}/docs`);
    const html = await page.text();
    expect(html).toContain('/docs/assets/swagger-ui-bundle.js');
    expect(html).not.toMatch(/<script>[^<]/);
    expect((await fetch(`${h.url}/docs/assets/swagger-ui-bundle.js`)).status).toBe(200);
  });
});
