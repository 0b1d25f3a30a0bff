import { describe, expect, it } from 'vitest';
import { employeeNoOf, isapiOutcome, isapiRequestsFor } from './isapi-commands.ts';

const NOW = new Date('2025-11-28T00:00:00.000Z');
const PERSON = '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';

describe('device commands as ISAPI requests', () => {
  it('opens door n (the only door when unset) and the barrier of a lane', () => {
    expect(isapiRequestsFor({ command: 'openDoor', openDoor: { doorNo: 2 } }, NOW)).toEqual({
      requests: [
        expect.objectContaining({
          method: 'PUT',
          path: '/ISAPI/AccessControl/RemoteControl/door/2',
          body: expect.stringContaining('<RemoteControlDoor version="2.0"'),
        }),
      ],
    });
    const plan = isapiRequestsFor({ command: 'openDoor', openDoor: {} }, NOW);
    expect('requests' in plan && plan.requests[0]!.path).toBe('/ISAPI/AccessControl/RemoteControl/door/1');
    expect('requests' in plan && plan.requests[0]!.body).toContain('<cmd>open</cmd>');
    const barrier = isapiRequestsFor({ command: 'openBarrier', openBarrier: { lane: 3 } }, NOW);
    expect('requests' in barrier && barrier.requests[0]!.path).toBe('/ISAPI/Parking/channels/3/barrierGate');
  });

  it('sets the clock in China Standard Time', () => {
    const plan = isapiRequestsFor({ command: 'timeSync', timeSync: {} }, NOW);
    expect('requests' in plan && plan.requests[0]).toMatchObject({
      method: 'PUT',
      path: '/ISAPI/System/time',
    });
    expect('requests' in plan && plan.requests[0]!.body).toContain(
      '<localTime>2025-11-28T08:00:00+08:00</localTime><timeZone>CST-8:00:00</timeZone>',
    );
  });

  it('turns an access-list update into UserInfo, CardInfo and deletions, in order', () => {
    const plan = isapiRequestsFor(
      {
        command: 'accessListUpdate',
        accessListUpdate: {
          listVersion: 7,
          fullReplace: true,
          entries: [
            {
              entryId: 'e1',
              operation: 'ACCESS_LIST_OPERATION_UPSERT',
              personId: PERSON,
              credentialType: 'CREDENTIAL_TYPE_CARD',
              credentialValue: '3712345678',
              validity: { startTime: { seconds: 1764288000 }, endTime: { seconds: 1795824000 } },
            },
            { entryId: 'e2', operation: 'ACCESS_LIST_OPERATION_REMOVE', personId: 'p-2' },
          ],
        },
      },
      NOW,
    );
    if (!('requests' in plan)) throw new Error(plan.unsupported);
    expect(plan.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'PUT /ISAPI/AccessControl/UserInfoDetail/Delete?format=json',
      'POST /ISAPI/AccessControl/UserInfo/SetUp?format=json',
      'POST /ISAPI/AccessControl/CardInfo/SetUp?format=json',
      'PUT /ISAPI/AccessControl/UserInfo/Delete?format=json',
    ]);
    const user = JSON.parse(plan.requests[1]!.body) as { UserInfo: Record<string, unknown> };
    expect(user.UserInfo).toMatchObject({
      employeeNo: employeeNoOf(PERSON),
      Valid: {
        enable: true,
        beginTime: '2025-11-28T08:00:00',
        endTime: '2026-11-28T08:00:00',
        timeType: 'local',
      },
    });
    expect(employeeNoOf(PERSON)).toHaveLength(32);
    expect(JSON.parse(plan.requests[2]!.body)).toEqual({
      CardInfo: { employeeNo: employeeNoOf(PERSON), cardNo: '3712345678', cardType: 'normalCard' },
    });
    expect(JSON.parse(plan.requests[3]!.body)).toEqual({
      UserInfoDelCond: { EmployeeNoList: [{ employeeNo: 'p2' }] },
    });
  });

  it('says why a command cannot be pushed', () => {
    expect(isapiRequestsFor({ command: 'teleport' }, NOW)).toEqual({
      unsupported: 'command teleport has no ISAPI form',
    });
    const noPerson = { command: 'accessListUpdate', accessListUpdate: { entries: [{ operation: 1 }] } };
    expect(isapiRequestsFor(noPerson, NOW)).toEqual({ unsupported: 'entries[0]: no personId' });
    const face = {
      command: 'accessListUpdate',
      accessListUpdate: {
        entries: [{ operation: 1, personId: PERSON, faceImage: { contentType: 'image/jpeg' } }],
      },
    };
    expect(isapiRequestsFor(face, NOW)).toEqual({
      unsupported: 'entries[0]: faceImage has no objectKey',
    });
  });

  it("enrols a face into the terminal's face library after its person, naming the picture", () => {
    const plan = isapiRequestsFor(
      {
        command: 'accessListUpdate',
        accessListUpdate: {
          entries: [
            {
              operation: 'ACCESS_LIST_OPERATION_UPSERT',
              personId: PERSON,
              credentialType: 'CREDENTIAL_TYPE_FACE',
              faceImage: { objectKey: 'identity/enrol/21.jpg', sha256: 'AB'.repeat(32) },
            },
          ],
        },
      },
      NOW,
    );
    if (!('requests' in plan)) throw new Error(plan.unsupported);
    expect(plan.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /ISAPI/AccessControl/UserInfo/SetUp?format=json',
      'PUT /ISAPI/Intelligent/FDLib/FDSetUp?format=json',
    ]);
    expect(plan.requests[1]).toMatchObject({
      contentType: 'multipart/form-data',
      image: { objectKey: 'identity/enrol/21.jpg', sha256: 'ab'.repeat(32) },
    });
    expect(JSON.parse(plan.requests[1]!.body)).toEqual({
      faceLibType: 'blackFD',
      FDID: '1',
      FPID: employeeNoOf(PERSON),
    });
  });
});

describe('ISAPI answers', () => {
  it.each([
    [
      200,
      '<ResponseStatus><statusCode>1</statusCode><statusString>OK</statusString></ResponseStatus>',
      { ok: true },
    ],
    [200, '{"statusCode":1,"statusString":"OK","subStatusCode":"ok"}', { ok: true }],
    [200, '', { ok: true }],
    [
      400,
      '{"statusCode":6,"statusString":"Invalid Content","subStatusCode":"badParameters","errorMsg":"employeeNo"}',
      { ok: false, final: true, detail: 'HTTP 400 statusCode 6 badParameters employeeNo' },
    ],
    [
      200,
      '<ResponseStatus><statusCode>4</statusCode><subStatusCode>notSupport</subStatusCode></ResponseStatus>',
      { ok: false, final: true, detail: 'HTTP 200 statusCode 4 notSupport' },
    ],
    [503, '', { ok: false, final: false, detail: 'HTTP 503' }],
    [
      200,
      '{"statusCode":2,"statusString":"Device Busy"}',
      { ok: false, final: false, detail: 'HTTP 200 statusCode 2 Device Busy' },
    ],
  ])('HTTP %d %s', (status, body, outcome) => {
    expect(isapiOutcome(status, body)).toEqual(outcome);
  });
});
