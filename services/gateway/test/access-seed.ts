/**
 * Access records made through the gateway's REST API as a site would make them: the compound's
 * address path, a gate with one reader, a registered staff member with a card and a grant, then
 * decisions asked for with `record` (the registered card passes, an unknown card is refused).
 * Shared by the API test and the browser test.
 */
import { randomUUID } from 'node:crypto';

/** A REST call with one of the two tokens; throws on a non-2xx answer. */
export type RestCall = (
  as: 'admin' | 'staff',
  method: string,
  path: string,
  body?: unknown,
) => Promise<Record<string, unknown>>;

export interface AccessSite {
  readonly doorId: string;
  readonly doorName: string;
  readonly deviceId: string;
  readonly personId: string;
  readonly personName: string;
}

export const STAFF_NAME = '张三丰';
const STAFF_ID_NUMBER = '370303199001011239';
export const KNOWN_CARD = 'C0FFEE01';

/** Builds the site in a compound whose id is a 15-digit address code (district 6, town 9, committee 12). */
export async function seedAccessSite(call: RestCall, compoundId: string): Promise<AccessSite> {
  const path: [string, string, string, string][] = [
    [compoundId.slice(0, 6), 'ADDRESS_LEVEL_DISTRICT', '张店区', ''],
    [compoundId.slice(0, 9), 'ADDRESS_LEVEL_TOWN', '车站街道', compoundId.slice(0, 6)],
    [compoundId.slice(0, 12), 'ADDRESS_LEVEL_COMMITTEE', '安乐街社区', compoundId.slice(0, 9)],
    [compoundId, 'ADDRESS_LEVEL_COMPOUND', '天晓小区', compoundId.slice(0, 12)],
  ];
  for (const [code, level, name, parentCode] of path)
    await call('admin', 'PUT', `/v1/addresses/${code}`, { level, name, parentCode });
  const site = {
    doorId: randomUUID(),
    doorName: '东门人行道闸',
    deviceId: randomUUID(),
    personName: STAFF_NAME,
  };
  await call('admin', 'PUT', `/v1/doors/${site.doorId}`, {
    door: {
      compoundId,
      addressCode: compoundId,
      kind: 'DOOR_KIND_COMPOUND_GATE',
      name: site.doorName,
      deviceIds: [site.deviceId],
    },
  });
  const groupId = randomUUID();
  await call('admin', 'PUT', `/v1/door-groups/${groupId}`, {
    doorGroup: { compoundId, name: '东门', doorIds: [site.doorId] },
  });
  const { person } = (await call('admin', 'POST', '/v1/persons', {
    compoundId,
    name: STAFF_NAME,
    idNumber: STAFF_ID_NUMBER,
    kind: 'PERSON_KIND_STAFF',
  })) as { person: { personId: string } };
  await call('admin', 'POST', `/v1/persons/${person.personId}/credentials`, {
    type: 'CREDENTIAL_TYPE_CARD',
    value: KNOWN_CARD,
  });
  await call('admin', 'POST', '/v1/grants', {
    grant: { personId: person.personId, doorGroupId: groupId, role: 'PERSON_ROLE_PROPERTY_STAFF' },
  });
  return { ...site, personId: person.personId };
}

/** One recorded decision at the site's reader; returns its record id. */
export async function recordPass(call: RestCall, site: AccessSite, card: string): Promise<string> {
  const decided = (await call('staff', 'POST', '/v1/access:authorize', {
    deviceId: site.deviceId,
    credentialType: 'CREDENTIAL_TYPE_CARD',
    credentialValue: card,
    record: true,
  })) as { recordId: string };
  return decided.recordId;
}
