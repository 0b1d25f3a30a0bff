/**
 * The dashboard in a real browser (issue 13, "the dashboard shows these in a real browser"): one
 * local-mode platform with the simulator's devices, a compound its office sets up through the
 * gateway's REST API, and headless Chromium (`@anfang/testing/chromium`) where the compound's
 * operator works as a person would — through the sign-in page, by clicking, never with an
 * injected cookie. What the page shows is what the platform did with the devices' own requests.
 *
 * The compound is one no other e2e file sends perimeter or unit-door traffic to (the topics are
 * shared with other installs whose kits have the same device ids): an alarm on its wall is this
 * test's intrusion.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  sendGenericHeartbeat,
  sendIsapiHeartbeat,
  type Compound,
  type Delivery,
  type DeviceRuntime,
} from '@anfang/simulator';
import { waitFor } from '@anfang/testing';
import { launchBrowser, type Browser } from '@anfang/testing/chromium';
import { registerCompound } from './support/compound.ts';
import type { Rest } from './support/gateway.ts';
import { armedWall, intrusion } from './support/perimeter.ts';
import { enrolmentImage, residentOfDoor } from './support/site.ts';
import { openWorld, type World } from './support/world.ts';

// ANFANG_E2E_DASHBOARD=0 skips the file (a quick run of the other e2e files).
const enabled = process.env.ANFANG_E2E_DASHBOARD !== '0';

/** The kit's compound this file uses (see above: one the other files leave alone). */
const COMPOUND_INDEX = 4;
/** How long the page may take to show what it fetched, on a machine running nine services. */
const SOON = { timeout: 30_000 };
/** Well within device-ingest's heartbeat interval (30 s; offline after three missed). */
const HEARTBEAT_MS = 15_000;
const OPERATOR_NAME = '监控中心值班员';
/** The name `seedResident` gives every resident: it must never be on screen in full. */
const RESIDENT_NAME = '李建国';
/** A full mainland ID number or mobile number standing alone in the page's text. */
const FULL_ID_NUMBER = /(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])/;
const FULL_MOBILE = /(?<!\d)1[3-9]\d{9}(?!\d)/;

let world: World;
let rest: Rest;
let browser: Browser;
let compound: Compound;
let door: DeviceRuntime;
let sensor: DeviceRuntime;
let zoneId: string;
let residentCard: string;
let operator: { id: string; username: string; password: string };
let alarmId: string;
let faceShownAt: number;
/** The page's text wherever the operator looked, checked for personal data at the end. */
const seen: { page: string; text: string }[] = [];
let heartbeatTimer: NodeJS.Timeout | undefined;
let beating: Promise<unknown> | undefined;

beforeAll(async () => {
  if (!enabled) return;
  world = await openWorld({
    prefix: 'dsh',
    compounds: COMPOUND_INDEX + 1,
    // The install is new: compliance-scoring needs none of the shared topics' history (other
    // installs' events for the same device ids).
    env: { COMPLIANCE_CONSUMER_START: 'latest' },
  });
  rest = world.rest;
  compound = world.kit.compounds[COMPOUND_INDEX]!;
  const ofCompound = (rt: DeviceRuntime) => rt.device.compound === compound;
  door = world.kit.device('unitDoor', (rt) => ofCompound(rt) && rt.device.protocol === 'generic');
  sensor = world.kit.device('perimeter', (rt) => ofCompound(rt) && rt.device.protocol === 'isapi');

  // The compound as the district office registers it, then its office's doors, resident and wall.
  await registerCompound(rest, compound);
  const faceRef = `E2EF${randomInt(1e6, 1e7)}`;
  const seeded = await residentOfDoor(rest, door, {
    ref: faceRef,
    imageKey: await enrolmentImage(world.platform),
  });
  residentCard = seeded.card;
  zoneId = await armedWall(rest, sensor, '东侧围墙 e2e', 'night');

  // The compound's monitoring-centre operator: a property-staff account of this compound alone.
  const username = `jk${randomBytes(4).toString('hex')}`;
  const password = `Jiankong-${randomBytes(6).toString('base64url')}`;
  const created = await rest<{ id: string }>('POST', '/auth/users', {
    username,
    displayName: OPERATOR_NAME,
    password,
    role: 'property_staff',
    compounds: [compound.code],
    areas: [],
  });
  operator = { id: created.id, username, password };

  // The compound's devices that report over HTTP heartbeat as they do in the field.
  const reporting = world.kit.devices.filter(
    (rt) => ofCompound(rt) && (rt.device.protocol === 'generic' || rt.device.protocol === 'isapi'),
  );
  // One after another, as devices that do not synchronise: sent side by side they queue at
  // device-ingest on a busy machine, arrive seconds after their device time and raise clock-drift
  // alarms.
  const beat = async () => {
    const outcomes: PromiseSettledResult<Delivery>[] = [];
    for (const rt of reporting) {
      const sent =
        rt.device.protocol === 'generic'
          ? sendGenericHeartbeat(rt, world.kit.io)
          : sendIsapiHeartbeat(rt, world.kit.io);
      outcomes.push(
        await sent.then(
          (value) => ({ status: 'fulfilled', value }) as const,
          (reason: unknown) => ({ status: 'rejected', reason }) as const,
        ),
      );
    }
    return outcomes;
  };
  // The first round must be accepted: a refused heartbeat would only show later as "offline".
  const firstAt = Date.now();
  const refused = (await beat()).flatMap((outcome, i) =>
    outcome.status === 'rejected'
      ? [`${reporting[i]!.device.key}: ${String(outcome.reason)}`]
      : outcome.value.accepted === 1
        ? []
        : [`${reporting[i]!.device.key}: ${outcome.value.status} ${outcome.value.reason ?? ''}`],
  );
  if (refused.length > 0) throw new Error(`heartbeats refused: ${refused.join('; ')}`);
  console.log(
    `dashboard: ${reporting.length} devices heartbeat, the first round took ${Date.now() - firstAt} ms`,
  );
  // A round still going when the next is due is not doubled.
  heartbeatTimer = setInterval(() => {
    beating ??= beat().finally(() => (beating = undefined));
  }, HEARTBEAT_MS);

  // The resident's face at the unit door, now: identity decides it while the operator works
  // through the other pages (its consumer reads the shared topics, which other installs fill).
  faceShownAt = Date.now();
  const delivery = await world.showFace(door, faceRef);
  if (delivery.accepted !== 1) throw new Error(`the face was refused: ${delivery.status} ${delivery.reason}`);

  browser = await launchBrowser({ artefacts: 'e2e-dashboard' });
}, 480_000);

afterAll(async () => {
  clearInterval(heartbeatTimer);
  await beating;
  if (browser) {
    await browser.screenshot('end').catch(() => undefined);
    await browser.close();
  }
  await world?.close();
});

/** The id of the wall's open perimeter alarm, if any (as the REST API says). */
async function perimeterAlarmOfWall(): Promise<string | undefined> {
  const { alarms = [] } = await rest<{ alarms?: { alarmId: string; zoneId?: string; source?: string }[] }>(
    'GET',
    `/v1/alarm/alarms?compoundId=${compound.code}`,
  );
  return alarms.find((a) => a.zoneId === zoneId && a.source === 'ALARM_SOURCE_PERIMETER')?.alarmId;
}

/** The page's visible text, remembered for the personal-data check. */
async function look(name: string): Promise<string> {
  const text = await browser.page.locator('body').innerText();
  seen.push({ page: name, text });
  return text;
}

describe.runIf(enabled)('the dashboard in Chromium on the whole platform', () => {
  it('the operator signs in through the sign-in page', async () => {
    const { page } = browser;
    await page.goto(world.platform.httpUrl('gateway'));
    await page.locator('input[name=username]').fill(operator.username);
    await page.locator('input[name=password]').fill(operator.password);
    await page.locator('form.signin button[type=submit]').click();
    await page.locator('header.top nav').waitFor(SOON);
    expect(await page.locator('header.top .user').textContent()).toContain(OPERATOR_NAME);
  });

  it('sees the compound and its devices online', { timeout: 150_000 }, async () => {
    const { page } = browser;
    // Property staff of one compound land on that compound's page.
    await expect.poll(() => page.locator('.compound-head h1').textContent(), SOON).toBe(compound.name);
    const doorMarker = page.locator(`svg.site-plan [data-marker="unit_door~${door.device.deviceId}"]`);
    await expect.poll(() => doorMarker.getAttribute('data-status'), SOON).toBe('online');
    const zone = page.locator(`svg.site-plan [data-marker="perimeter_zone~${zoneId}"]`);
    await expect.poll(() => zone.getAttribute('data-status'), SOON).toBe('armed');
    await look('compound');
    await browser.screenshot('compound');

    await page.locator('header.top nav a[href="#/devices"]').click();
    const row = (rt: DeviceRuntime) =>
      page.locator('.page-devices tbody tr').filter({ hasText: rt.device.name });
    for (const rt of [door, sensor])
      await expect.poll(() => row(rt).locator('.pill.st-online').count(), SOON).toBe(1);
    const summary = await page.locator('.page-devices .figures').textContent();
    const online = Number(/在线 (\d+)/.exec(summary ?? '')?.[1]);
    console.log(`dashboard: devices page says "${summary}"`);
    expect(online).toBeGreaterThanOrEqual(2);
    await look('devices');
    await browser.screenshot('devices');
  });

  it(
    'an intrusion on the armed wall appears on the console without a reload',
    { timeout: 150_000 },
    async () => {
      const { page } = browser;
      await page.locator('header.top nav a[href="#/compound"]').click();
      await expect.poll(() => page.locator('.compound-head h1').textContent(), SOON).toBe(compound.name);
      await expect.poll(() => page.locator('.live-state').getAttribute('data-state'), SOON).toBe('open');
      // The wall has no perimeter alarm yet (the devices' own alarms, such as clock drift, may be
      // there).
      expect(await perimeterAlarmOfWall()).toBeUndefined();
      // A mark in this document: a reload or a navigation would lose it.
      await page.evaluate(() => {
        Object.assign(globalThis, { e2eDashboardMark: 'still here' });
      });

      const raisedAt = Date.now();
      await intrusion(world.kit, sensor);
      alarmId = await waitFor(perimeterAlarmOfWall, {
        timeoutMs: 60_000,
        message: 'perimeter-alarms opened no alarm for the wall',
      });
      const card = page.locator(`.alarm[data-alarm-id="${alarmId}"]`);
      await card.waitFor({ timeout: 30_000 });
      console.log(`dashboard: the alarm was on the console ${Date.now() - raisedAt} ms after the intrusion`);
      expect(await card.getAttribute('data-state')).toBe('ALARM_STATE_NEW');
      expect(await page.evaluate(() => (globalThis as { e2eDashboardMark?: string }).e2eDashboardMark)).toBe(
        'still here',
      );
      await expect
        .poll(
          () =>
            page
              .locator(`svg.site-plan [data-marker="perimeter_zone~${zoneId}"]`)
              .getAttribute('data-status'),
          SOON,
        )
        .toBe('alarm');
      await look('alarm');
      await browser.screenshot('alarm-arrived');
    },
  );

  it('the operator acknowledges it with a click, and the REST API shows who did', async () => {
    const { page } = browser;
    const card = page.locator(`.alarm[data-alarm-id="${alarmId}"]`);
    await card.locator('button.act-acknowledge').click();
    await expect.poll(() => card.getAttribute('data-state'), SOON).toBe('ALARM_STATE_ACKNOWLEDGED');
    await browser.screenshot('alarm-acknowledged');

    const { alarm } = await rest<{
      alarm: { state: string; history?: { transition: string; actor: string }[] };
    }>('GET', `/v1/alarm/alarms/${alarmId}`);
    expect(alarm.state).toBe('ALARM_STATE_ACKNOWLEDGED');
    const acknowledged = (alarm.history ?? []).filter(
      (h) => h.transition === 'ALARM_TRANSITION_ACKNOWLEDGED',
    );
    expect(acknowledged).toHaveLength(1);
    // The history names the account (its user id); the accounts list gives its name.
    expect(acknowledged[0]!.actor).toBe(`user:${operator.id}`);
    const { users } = await rest<{ users: { id: string; displayName: string }[] }>('GET', '/auth/users');
    expect(users.find((u) => `user:${u.id}` === acknowledged[0]!.actor)?.displayName).toBe(OPERATOR_NAME);
  });

  it(
    'a resident’s face at the unit door appears on the access records with its image',
    { timeout: 150_000 },
    async () => {
      const { page } = browser;
      await page.locator('header.top nav a[href="#/records"]').click();
      const access = page.locator('.page-records .panel').filter({ hasText: '人员出入记录' });
      // Other installs' kits send to the same door id; the resident's pass is the allowed one.
      const mine = access.locator('table tbody tr').filter({ has: page.locator('.decision.allowed') });
      await expect
        .poll(
          async () => {
            await access.locator('button[type=submit]').click();
            return mine.count();
          },
          { timeout: 120_000, interval: 2_000 },
        )
        .toBe(1);
      console.log(
        `dashboard: the pass was on the records page ${Date.now() - faceShownAt} ms after the face`,
      );
      expect(await mine.textContent()).toContain(door.device.name);
      const image = mine.locator('img.thumb');
      await expect
        .poll(
          () =>
            image.evaluate((img: { complete: boolean; naturalWidth: number }) =>
              img.complete ? img.naturalWidth : 0,
            ),
          SOON,
        )
        .toBeGreaterThan(0);
      // The resident's name masked to the family name.
      expect(await mine.textContent()).toContain(`${RESIDENT_NAME[0]}**`);
      await look('access-records');
      await browser.screenshot('access-records');
    },
  );

  it('no full name, ID number, phone or card number of a person is on any page the operator saw', () => {
    expect(seen.map((s) => s.page)).toEqual(['compound', 'devices', 'alarm', 'access-records']);
    for (const { page, text } of seen) {
      expect(text, page).not.toContain(RESIDENT_NAME);
      expect(text, page).not.toContain(residentCard);
      expect(FULL_ID_NUMBER.exec(text)?.[0], page).toBeUndefined();
      expect(FULL_MOBILE.exec(text)?.[0], page).toBeUndefined();
    }
  });
});
