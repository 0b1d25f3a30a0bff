/**
 * The dashboard in headless Chromium against the real gateway and services (issue 11, "Done
 * when"): sign in, see the district overview with levels, open a compound, see an alarm arrive
 * live, acknowledge and resolve it. Screenshots of every step go to .cache/test-results/.
 */
import { randomInt } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@anfang/testing';
import { launchBrowser, type Browser } from '@anfang/testing/chromium';
import { KNOWN_CARD, STAFF_NAME, recordPass, seedAccessSite, type RestCall } from '../access-seed.ts';
import { startStack, type Stack } from './stack.ts';

const code = (): string => `370303${String(randomInt(1e9)).padStart(9, '0')}`;
/** How long a page may take to show what it fetched (the machine runs many services at once). */
const SOON = { timeout: 20_000 };
const TOWN_A = '车站';
const TOWN_B = '公园';

interface Compound {
  readonly compoundId: string;
  readonly name: string;
  readonly townStreet: string;
}

describe('dashboard in headless Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  let token: string;
  const sensor = `ir-${randomInt(1e9)}`;
  const tianxiao: Compound = { compoundId: code(), name: '天晓小区', townStreet: TOWN_A };
  const village: Compound = { compoundId: code(), name: '东村', townStreet: TOWN_B };
  let alarmId = '';

  /** The REST API with a session token. */
  const restAs = async <T>(bearer: string, method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${stack.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  /** The REST API as the bootstrap admin (setting up what a district office would). */
  const rest = <T>(method: string, path: string, body?: unknown): Promise<T> =>
    restAs<T>(token, method, path, body);

  beforeAll(async () => {
    stack = await startStack();
    const login = await fetch(`${stack.baseUrl}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: stack.adminUser, password: stack.adminPassword }),
    });
    expect(login.status).toBe(200);
    token = ((await login.json()) as { token: string }).token;
    await rest('POST', '/v1/compounds', {
      compound: {
        ...tianxiao,
        category: 'COMPOUND_CATEGORY_CLOSED',
        programmeGroup: 'PROGRAMME_GROUP_COMMERCIAL',
        buildingsCount: 2,
        unitsCount: 4,
        buildingCodes: [`${tianxiao.compoundId}001`, `${tianxiao.compoundId}002`],
        targetLevel: 'COMPLIANCE_LEVEL_QUALITY',
        visualPlatformEnabled: true,
      },
    });
    await rest('POST', '/v1/compounds', {
      compound: {
        ...village,
        category: 'COMPOUND_CATEGORY_VILLAGE',
        programmeGroup: 'PROGRAMME_GROUP_VILLAGE',
        buildingsCount: 1,
        unitsCount: 1,
        targetLevel: 'COMPLIANCE_LEVEL_COMPLIANT',
      },
    });
    await rest('POST', '/v1/alarm/zones', {
      zone: {
        compoundId: tianxiao.compoundId,
        name: '东侧围墙',
        kind: 'ZONE_KIND_WALL',
        sensorDeviceIds: [sensor],
      },
    });
    browser = await launchBrowser({ artefacts: 'gateway-dashboard' });
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('refuses a wrong password, then signs in', async () => {
    const { page } = browser;
    await page.goto(stack.baseUrl);
    await page.locator('input[name=username]').fill(stack.adminUser);
    await page.locator('input[name=password]').fill('not-the-password');
    await page.locator('form.signin button[type=submit]').click();
    await expect
      .poll(() => page.locator('.signin .notice-error').textContent(), SOON)
      .toContain('用户名或密码错误');
    await browser.screenshot('sign-in-refused');

    await page.locator('input[name=password]').fill(stack.adminPassword);
    await page.locator('form.signin button[type=submit]').click();
    await page.locator('header.top nav').waitFor();
    expect(await page.locator('header.top .user').textContent()).toContain('区级管理员');
  });

  it('shows the district overview with every compound coloured by level and the rate charts', async () => {
    const { page } = browser;
    const tile = (c: Compound) => page.locator(`.tile[data-compound="${c.compoundId}"]`);
    // New compounds without devices are scored at once: not compliant.
    for (const c of [tianxiao, village]) {
      await expect
        .poll(() => tile(c).getAttribute('data-level'), SOON)
        .toBe('COMPLIANCE_LEVEL_NOT_COMPLIANT');
      expect(await tile(c).textContent()).toContain(c.name);
      expect(await tile(c).textContent()).toContain('未达标');
    }
    const towns = await page.locator('.town h3').allTextContents();
    expect(towns.some((t) => t.startsWith(TOWN_A))).toBe(true);
    expect(towns.some((t) => t.startsWith(TOWN_B))).toBe(true);
    // Coverage and networking against the year's targets, drawn as SVG.
    await page.locator('svg.chart').first().waitFor();
    expect(await page.locator('svg.chart').count()).toBeGreaterThanOrEqual(4);
    expect(await page.locator('.charts').textContent()).toContain(TOWN_A);
    await browser.screenshot('district-overview');
  });

  it('opens a compound: level, site plan with buildings and the perimeter zone', async () => {
    const { page } = browser;
    await page.locator(`.tile[data-compound="${tianxiao.compoundId}"]`).click();
    await expect.poll(() => page.locator('.compound-head h1').textContent(), SOON).toBe(tianxiao.name);
    expect(await page.locator('.compound-head .badge').getAttribute('data-level')).toBe(
      'COMPLIANCE_LEVEL_NOT_COMPLIANT',
    );
    await page.locator('svg.site-plan').waitFor();
    expect(await page.locator('svg.site-plan .marker.kind-building').count()).toBe(2);
    const zone = page.locator('svg.site-plan .marker.kind-perimeter_zone');
    expect(await zone.count()).toBe(1);
    await expect.poll(() => zone.getAttribute('data-status'), SOON).toBe('armed');
    await expect.poll(() => page.locator('.live-state').getAttribute('data-state'), SOON).toBe('open');
    await browser.screenshot('compound');
  });

  it('shows an alarm the moment it is raised, on the plan and in the alarm list', async () => {
    const { page } = browser;
    expect(await page.locator('.alarm').count()).toBe(0);
    await stack.perimeterTrigger(tianxiao.compoundId, sensor);
    // The alarm this test's perimeter-alarms raised. Other test files run their own
    // perimeter-alarms on the same shared topic and may raise one for the same trigger; the
    // gateway streams every AlarmChanged of the compound, so the page can show theirs too.
    alarmId = await waitFor(
      async () =>
        (
          await rest<{ alarms?: { alarmId: string }[] }>(
            'GET',
            `/v1/alarm/alarms?compound_id=${tianxiao.compoundId}`,
          )
        ).alarms?.[0]?.alarmId,
      { timeoutMs: 30_000, message: 'perimeter-alarms raised no alarm' },
    );
    // No reload: the page listed no alarm before the trigger; this one arrives over /v1/live.
    const card = page.locator(`.alarm[data-alarm-id="${alarmId}"]`);
    await card.waitFor({ timeout: 30_000 });
    expect(await card.getAttribute('data-state')).toBe('ALARM_STATE_NEW');
    expect(await page.locator('.feed .feed-alarm').count()).toBeGreaterThan(0);
    await expect
      .poll(() => page.locator('svg.site-plan .marker.kind-perimeter_zone').getAttribute('data-status'), SOON)
      .toBe('alarm');
    await browser.screenshot('alarm-arrived');
  });

  it('acknowledges and resolves the alarm', async () => {
    const { page } = browser;
    const card = page.locator(`.alarm[data-alarm-id="${alarmId}"]`);
    await card.locator('button.act-acknowledge').click();
    await expect.poll(() => card.getAttribute('data-state'), SOON).toBe('ALARM_STATE_ACKNOWLEDGED');
    await browser.screenshot('alarm-acknowledged');

    await card.locator('input[name=comment]').fill('巡逻确认为误报');
    await card.locator('select[name=resolution]').selectOption('ALARM_RESOLUTION_FALSE_ALARM');
    await card.locator('button.act-resolve').click();
    // Resolved alarms leave the open list; the zone is no longer in alarm.
    await card.waitFor({ state: 'detached' });
    await expect
      .poll(() => page.locator('svg.site-plan .marker.kind-perimeter_zone').getAttribute('data-status'), SOON)
      .toBe('armed');
    await browser.screenshot('alarm-resolved');

    const { alarm } = await rest<{
      alarm: { state: string; resolution: string; history: { transition: string; comment?: string }[] };
    }>('GET', `/v1/alarm/alarms/${alarmId}`);
    expect(alarm.state).toBe('ALARM_STATE_RESOLVED');
    expect(alarm.resolution).toBe('ALARM_RESOLUTION_FALSE_ALARM');
    const transitions = alarm.history.map((entry) => entry.transition);
    expect(transitions).toEqual(
      expect.arrayContaining(['ALARM_TRANSITION_ACKNOWLEDGED', 'ALARM_TRANSITION_RESOLVED']),
    );
    expect(alarm.history.some((entry) => entry.comment === '巡逻确认为误报')).toBe(true);
  });

  it('says "no data yet" on the pages whose services are not deployed', async () => {
    const { page } = browser;
    // Only compliance-scoring, perimeter-alarms and identity run: vehicle-access, patrol,
    // device-ingest and police-upload are absent, as on a site that has not rolled those modules
    // out yet.
    for (const [route, name] of [
      [`#/records?compound=${tianxiao.compoundId}`, 'records'],
      [`#/patrol?compound=${tianxiao.compoundId}`, 'patrol'],
      [`#/devices?compound=${tianxiao.compoundId}`, 'devices'],
      ['#/police', 'police'],
    ] as const) {
      await page.evaluate((hash) => (location.hash = hash), route);
      const empty = page.locator(`.page-${name} .notice-empty`).filter({ hasText: '暂无数据' });
      // Every panel of an absent service says so (records: vehicles, not access; police two:
      // platforms and backlog).
      await expect.poll(() => empty.count(), SOON).toBe(name === 'police' ? 2 : 1);
      expect(await page.locator(`.page-${name} .notice-error`).count()).toBe(0);
      await browser.screenshot(`absent-${name}`);
    }
    // The police page still shows the networking rates compliance-scoring knows.
    expect(await page.locator('.page-police svg.chart').count()).toBe(1);
    await page.evaluate((id) => (location.hash = `#/compound?compound=${id}`), tianxiao.compoundId);
    await expect.poll(() => page.locator('.compound-head h1').textContent(), SOON).toBe(tianxiao.name);
  });

  it('switches to English', async () => {
    const { page } = browser;
    await page.locator('button.lang[lang=en]').click();
    expect(await page.locator('header.top nav').textContent()).toContain('District');
    expect(await page.locator('.compound-head .badge').textContent()).toBe('Not compliant');
    await browser.screenshot('english');
    await page.locator('button.lang[lang=zh]').click();
  });

  it('shows property staff only their own compound', async () => {
    const { page } = browser;
    const username = `wy${randomInt(1e6)}`;
    const password = 'Wuye-Tianxiao-2026';
    await rest('POST', '/auth/users', {
      username,
      displayName: '物业值班',
      password,
      role: 'property_staff',
      compounds: [tianxiao.compoundId],
      areas: [],
    });
    await page.locator('button.signout').click();
    await page.locator('input[name=username]').fill(username);
    await page.locator('input[name=password]').fill(password);
    await page.locator('form.signin button[type=submit]').click();
    await expect.poll(() => page.locator('header.top .user').textContent(), SOON).toContain('物业');
    // Their home is their compound, not the district.
    await page.goto(stack.baseUrl);
    await expect.poll(() => page.locator('.compound-head h1').textContent(), SOON).toBe(tianxiao.name);

    await page.evaluate(() => (location.hash = '#/overview'));
    await expect
      .poll(
        () => page.locator(`.tile[data-compound="${tianxiao.compoundId}"]`).getAttribute('data-level'),
        SOON,
      )
      .toBe('COMPLIANCE_LEVEL_NOT_COMPLIANT');
    expect(await page.locator('.tile').count()).toBe(1);
    expect(await page.locator(`.tile[data-compound="${village.compoundId}"]`).count()).toBe(0);

    // Their one compound is the default wherever a compound is asked for.
    await page.evaluate(() => (location.hash = '#/alarms'));
    await expect
      .poll(() => page.locator('.page-alarms input[name=compound]').inputValue(), SOON)
      .toBe(tianxiao.compoundId);
    await expect
      .poll(() => page.locator('.page-alarms .alarm-list').textContent(), SOON)
      .toContain('当前没有未处理的报警');

    // Another compound is refused, and the page says why.
    await page.evaluate((id) => (location.hash = `#/compound?compound=${id}`), village.compoundId);
    await expect
      .poll(() => page.locator('.page-compound .notice-error').first().textContent(), SOON)
      .toContain('超出您的权限范围');
    await browser.screenshot('property-staff-out-of-scope');
  });

  it('lets property staff drag a marker on the site plan, and it stays there after a reload', async () => {
    const { page } = browser;
    await page.evaluate((id) => (location.hash = `#/compound?compound=${id}`), tianxiao.compoundId);
    const plan = page.locator('svg.site-plan');
    await plan.waitFor(SOON);
    const building = page.locator('svg.site-plan .marker.kind-building').first();
    await building.waitFor(SOON);
    const planBox = (await plan.boundingBox())!;
    const from = (await building.boundingBox())!;
    const to = { x: planBox.x + planBox.width * 0.8, y: planBox.y + planBox.height * 0.3 };
    await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
    await page.mouse.down();
    await page.mouse.move(to.x, to.y, { steps: 8 });
    await page.mouse.up();
    await expect.poll(() => page.locator('.page-compound').textContent(), SOON).toContain('位置已保存');
    // Where the marker stands on the plan, as fractions (notices above the plan move it on screen).
    const onPlan = async (marker: typeof building) => {
      const [box, frame] = [(await marker.boundingBox())!, (await plan.boundingBox())!];
      return { x: (box.x - frame.x) / frame.width, y: (box.y - frame.y) / frame.height };
    };
    const dropped = await onPlan(building);
    await browser.screenshot('site-plan-dragged');

    await page.reload();
    const again = page.locator('svg.site-plan .marker.kind-building').first();
    await again.waitFor(SOON);
    const after = await onPlan(again);
    expect(Math.abs(dropped.x - (from.x - planBox.x) / planBox.width)).toBeGreaterThan(0.1);
    expect(after.x).toBeCloseTo(dropped.x, 2);
    expect(after.y).toBeCloseTo(dropped.y, 2);
    const stored = await rest<{ markers: { kind: string; x: number; y: number }[] }>(
      'GET',
      `/v1/compounds/${tianxiao.compoundId}/site-plan`,
    );
    expect(stored.markers).toEqual([expect.objectContaining({ kind: 'building' })]);
    expect(stored.markers[0]!.x).toBeCloseTo(0.8, 1);
    await browser.screenshot('site-plan-after-reload');
  });

  it('searches access records by decision and door, with snapshots through /v1/media', async () => {
    const { page } = browser;
    // Still signed in as the compound's property staff (above); a guard's token asks the reader's
    // decisions, as the gate console would.
    const guard = `mw${randomInt(1e6)}`;
    const guardPassword = 'Menwei-Tianxiao-2026';
    await rest('POST', '/auth/users', {
      username: guard,
      displayName: '门卫',
      password: guardPassword,
      role: 'guard',
      compounds: [tianxiao.compoundId],
      areas: [],
    });
    const signIn = await fetch(`${stack.baseUrl}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: guard, password: guardPassword }),
    });
    const guardToken = ((await signIn.json()) as { token: string }).token;
    const call: RestCall = (as, method, path, body) =>
      as === 'admin' ? rest(method, path, body) : restAs(guardToken, method, path, body);
    const site = await seedAccessSite(call, tianxiao.compoundId);
    for (const card of [KNOWN_CARD, 'DEAD0000', KNOWN_CARD]) await recordPass(call, site, card);
    // The gate's own report of a pass, with its capture: identity decides and records it.
    const capture = await stack.cardPresented(site.deviceId, KNOWN_CARD);

    await page.evaluate((id) => (location.hash = `#/records?compound=${id}`), tianxiao.compoundId);
    const access = page.locator('.page-records .panel').filter({ hasText: '人员出入记录' });
    const rows = access.locator('table tbody tr');
    // The device event is decided when identity's consumer reaches it; the search shows it then.
    const thumb = access.locator(`img.thumb[src="/v1/media/${capture}"]`);
    await expect
      .poll(
        async () => {
          await access.locator('button[type=submit]').click();
          return thumb.count();
        },
        { timeout: 90_000, interval: 2_000 },
      )
      .toBe(1);
    await expect.poll(() => rows.count(), SOON).toBe(4);
    // Names masked for property staff; the refused unknown card has no person.
    expect(await access.locator('table').textContent()).not.toContain(STAFF_NAME);
    expect(await access.locator('table').textContent()).toContain('未登记');

    await access.locator('select[name=decision]').selectOption('ACCESS_DECISION_DENIED');
    await access.locator('button[type=submit]').click();
    await expect.poll(() => rows.count(), SOON).toBe(1);
    expect(await rows.first().textContent()).toContain('未知凭证');
    await browser.screenshot('access-records-refused');

    await access.locator('select[name=decision]').selectOption('');
    await access.locator('button[type=submit]').click();
    await expect.poll(() => rows.count(), SOON).toBe(4);
    await rows.first().locator('button.door').click();
    await expect.poll(() => access.locator('input[name=door]').inputValue(), SOON).toBe(site.doorId);
    await expect.poll(() => rows.count(), SOON).toBe(4);
    expect(await rows.first().textContent()).toContain(site.doorName);
    await browser.screenshot('access-records');
    // Above the 90 s given to identity's consumer to decide the gate's event on a loaded machine.
  }, 150_000);

  it('asks for the one-time code of an account with a second factor', async () => {
    const { page } = browser;
    const username = `sq${randomInt(1e6)}`;
    const password = 'Shequ-Tianxiao-2026';
    await rest('POST', '/auth/users', {
      username,
      displayName: '社区网格员',
      password,
      role: 'community_manager',
      compounds: [tianxiao.compoundId],
      areas: [],
    });
    // The user turns on TOTP as an authenticator app would.
    const login = await fetch(`${stack.baseUrl}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    const userToken = ((await login.json()) as { token: string }).token;
    const setup = await fetch(`${stack.baseUrl}/auth/totp/setup`, {
      method: 'POST',
      headers: { authorization: `Bearer ${userToken}` },
    });
    const totp = new TOTP({
      secret: Secret.fromBase32(((await setup.json()) as { secret: string }).secret),
      digits: 6,
      period: 30,
    });
    const enable = await fetch(`${stack.baseUrl}/auth/totp/enable`, {
      method: 'POST',
      headers: { authorization: `Bearer ${userToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ code: totp.generate() }),
    });
    expect(enable.status).toBe(204);

    await page.locator('button.signout').click();
    await page.locator('input[name=username]').fill(username);
    await page.locator('input[name=password]').fill(password);
    await page.locator('form.signin button[type=submit]').click();
    const code = page.locator('input[name=totp]');
    await code.waitFor();
    expect(await page.locator('.signin .notice-error').textContent()).toContain('请输入动态验证码');
    await browser.screenshot('sign-in-totp');
    // The code of the next step (one step of skew is allowed): the current one was spent enabling.
    await code.fill(totp.generate({ timestamp: Date.now() + 30_000 }));
    await page.locator('form.signin button[type=submit]').click();
    await expect.poll(() => page.locator('header.top .user').textContent(), SOON).toContain('社区');
  });

  it('returns to the sign-in page saying the session expired', async () => {
    const { page, context } = browser;
    // The session ends under the open page (as after the idle timeout): the next call is refused.
    await context.clearCookies();
    await page.evaluate((id) => (location.hash = `#/alarms?compound=${id}`), tianxiao.compoundId);
    await expect
      .poll(() => page.locator('.signin .notice-error').textContent(), SOON)
      .toContain('会话已过期');
    await browser.screenshot('session-expired');
    await page.locator('input[name=username]').fill(stack.adminUser);
    await page.locator('input[name=password]').fill(stack.adminPassword);
    await page.locator('form.signin button[type=submit]').click();
    // Back where the operator was.
    await page.locator('.page-alarms').waitFor();
  });
});
