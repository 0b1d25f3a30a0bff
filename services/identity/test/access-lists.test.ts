/**
 * Offline allow lists against real Postgres and Kafka: every reader of a compound gets its list
 * as access_list_update commands on the device command topic (the whole list first, then only
 * what changed), a revocation removes the entry from the readers that held it and from no other,
 * a scheduled grant stays online-only, and a lost update makes the reader's whole list go again.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang, topics } from '@anfang/contracts';
import { createBus, createEventPublisher, type Bus } from '@anfang/platform/bus';
import { createLogger } from '@anfang/platform/log';
import { infraEnv, waitFor, watchTopics, type TopicWatch } from '@anfang/testing';
import { present, seedResident, seedSite, startIdentity, type Harness, type Site } from './harness.ts';

const { CredentialType } = anfang.common.v1;
const { AccessListOperation, CommandStatus } = anfang.device.v1;
type Command = anfang.device.v1.DeviceCommand;

const devices = new Set<string>();
let h: Harness;
let site: Site;
let bus: Bus;
let watch: TopicWatch;

beforeAll(async () => {
  bus = await createBus({
    kind: 'kafka',
    brokers: infraEnv().kafkaBrokers,
    clientId: 'identity-access-lists',
    logger: createLogger({ service: 'identity-test', level: 'warn' }),
  });
  // Watching before the site exists: the first lists go out as soon as readers are mapped.
  watch = await watchTopics(bus, { label: 'identity-access-lists', topics: [topics.deviceCommand] });
  h = await startIdentity('identity_access_lists', devices);
  site = await seedSite(h, devices);
}, 120_000);

afterAll(async () => {
  await h?.stop();
  await watch?.close();
  await bus?.close();
});

const commandsFor = (deviceId: string): Command[] =>
  watch.events(topics.deviceCommand).filter((c) => c.deviceId === deviceId && c.accessListUpdate);

/** The list a reader holds after applying its commands in version order, as a real reader would. */
function heldBy(deviceId: string): Map<string, anfang.device.v1.IAccessListEntry> {
  const list = new Map<string, anfang.device.v1.IAccessListEntry>();
  const updates = commandsFor(deviceId)
    .map((c) => c.accessListUpdate!)
    .sort((a, b) => Number(a.listVersion) - Number(b.listVersion));
  let version = 0;
  for (const update of updates) {
    expect(Number(update.listVersion)).toBe(version + 1);
    version = Number(update.listVersion);
    if (update.fullReplace) list.clear();
    for (const entry of update.entries ?? []) {
      if (entry.operation === AccessListOperation.ACCESS_LIST_OPERATION_REMOVE) list.delete(entry.entryId!);
      else list.set(entry.entryId!, entry);
    }
  }
  return list;
}

describe('offline allow lists', () => {
  it('gives each reader the cards and faces granted through its door, and nothing else', async () => {
    const { person, credential } = await seedResident(h, site, 21, 'ab12 cd34');
    const staff = await h.as('property_staff');
    const face = present(
      (
        await h.client.issueCredential(
          {
            personId: person.personId,
            type: CredentialType.CREDENTIAL_TYPE_FACE,
            value: 'face-0021',
            faceImageKey: 'identity/enrol/0021.jpg',
          },
          staff,
        )
      ).credential,
      'credential',
    );
    for (const reader of [site.gateDevice, site.unitDevice])
      await waitFor(() => heldBy(reader).size === 2, { timeoutMs: 30_000, message: `list of ${reader}` });
    const atGate = heldBy(site.gateDevice);
    expect(atGate.get(credential.credentialId!)).toMatchObject({
      personId: person.personId,
      credentialType: CredentialType.CREDENTIAL_TYPE_CARD,
      // As readers read it: no spaces, upper case. Secrets never: PINs and QR codes stay online.
      credentialValue: 'AB12CD34',
    });
    expect(atGate.get(face.credentialId!)).toMatchObject({
      credentialType: CredentialType.CREDENTIAL_TYPE_FACE,
      credentialValue: 'face-0021',
      faceImage: { objectKey: 'identity/enrol/0021.jpg' },
    });
    // The other unit's reader is a reader of the compound: it holds a list, an empty one.
    await waitFor(() => commandsFor(site.otherUnitDevice).length > 0, { timeoutMs: 30_000 });
    expect(heldBy(site.otherUnitDevice).size).toBe(0);
    // The first command a reader gets replaces whatever it held.
    expect(commandsFor(site.gateDevice)[0]!.accessListUpdate!.fullReplace).toBe(true);
  });

  it('removes a revoked card from the readers that held it, in one incremental update', async () => {
    const { credential } = await seedResident(h, site, 22, 'EE220022');
    await waitFor(() => heldBy(site.gateDevice).has(credential.credentialId!), { timeoutMs: 30_000 });
    const gateBefore = commandsFor(site.gateDevice).length;
    const otherBefore = commandsFor(site.otherUnitDevice).length;
    await h.client.revokeCredential(
      { credentialId: credential.credentialId, reason: 'card lost' },
      await h.as('property_staff'),
    );
    await waitFor(() => !heldBy(site.gateDevice).has(credential.credentialId!), { timeoutMs: 30_000 });
    await waitFor(() => !heldBy(site.unitDevice).has(credential.credentialId!), { timeoutMs: 30_000 });
    const update = commandsFor(site.gateDevice).at(-1)!.accessListUpdate!;
    expect(update.fullReplace).toBe(false);
    expect(update.entries).toEqual([
      expect.objectContaining({
        entryId: credential.credentialId,
        operation: AccessListOperation.ACCESS_LIST_OPERATION_REMOVE,
      }),
    ]);
    expect(commandsFor(site.gateDevice).length).toBe(gateBefore + 1);
    // The reader that never held it hears nothing.
    expect(commandsFor(site.otherUnitDevice).length).toBe(otherBefore);
  });

  it('keeps grants with a weekly schedule online-only', async () => {
    const { person, credential, grant } = await seedResident(h, site, 23, 'FF230023');
    const staff = await h.as('property_staff');
    await waitFor(() => heldBy(site.gateDevice).has(credential.credentialId!), { timeoutMs: 30_000 });
    await h.client.revokeGrant({ grantId: grant.grantId, reason: 'cleaner: weekdays only' }, staff);
    await h.client.createGrant(
      {
        grant: {
          personId: person.personId,
          doorGroupId: site.residentsGroup,
          role: anfang.identity.v1.PersonRole.PERSON_ROLE_PROPERTY_STAFF,
          schedule: { weekdays: [1, 2, 3, 4, 5], startMinute: 8 * 60, endMinute: 18 * 60 },
        },
      },
      staff,
    );
    await waitFor(() => !heldBy(site.gateDevice).has(credential.credentialId!), { timeoutMs: 30_000 });
  });

  it('sends a reader its whole list again when an update to it was lost', async () => {
    const { credential } = await seedResident(h, site, 24, 'AA240024');
    await waitFor(() => heldBy(site.unitDevice).has(credential.credentialId!), { timeoutMs: 30_000 });
    const last = commandsFor(site.unitDevice).at(-1)!;
    const deviceIngest = createEventPublisher({ bus, producer: 'device-ingest' });
    await deviceIngest.publish(topics.deviceCommandStatus, {
      commandId: last.commandId,
      deviceId: site.unitDevice,
      status: CommandStatus.COMMAND_STATUS_EXPIRED,
      detail: 'reader offline for 7 days',
      attempts: 0,
    });
    await waitFor(
      () => {
        const next = commandsFor(site.unitDevice).at(-1)!;
        return next.commandId !== last.commandId && next.accessListUpdate!.fullReplace;
      },
      { timeoutMs: 30_000, message: 'no full resend' },
    );
    const held = heldBy(site.unitDevice);
    expect(held.has(credential.credentialId!)).toBe(true);
    // Another device's lost command (not an access-list update of ours) changes nothing.
    const before = commandsFor(site.gateDevice).length;
    await deviceIngest.publish(topics.deviceCommandStatus, {
      commandId: randomUUID(),
      deviceId: site.gateDevice,
      status: CommandStatus.COMMAND_STATUS_FAILED,
      detail: 'relay stuck',
      attempts: 3,
    });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(commandsFor(site.gateDevice).length).toBe(before);
  });
});
