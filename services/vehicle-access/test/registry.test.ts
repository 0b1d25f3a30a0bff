/**
 * The gRPC API against the started service: caller checks (token, role, compound scope),
 * validation with field violations, vehicle CRUD and paging, the CSV import stream, visitor
 * authorisations with the phone encrypted at rest and masked on output, watchlist ownership.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang, timestampFromDate } from '@anfang/contracts';
import {
  AlreadyExistsError,
  InvalidArgumentError,
  Metadata,
  NotFoundError,
  PermissionDeniedError,
  UnauthenticatedError,
} from '@anfang/platform/grpc';
import { mintCallerMetadata } from '@anfang/platform/auth';
import { waitFor } from '@anfang/testing';
import { randomCompoundId, startHarness, type Harness } from './harness.ts';

const { PlateColor, VehicleType, Priority } = anfang.common.v1;
const { VehicleChange } = anfang.vehicle.v1;

let h: Harness;
let raw: pg.Client;
const hour = 3600_000;

beforeAll(async () => {
  h = await startHarness('registry');
  raw = new pg.Client({ connectionString: h.db.url });
  await raw.connect();
});

afterAll(async () => {
  await raw?.end();
  await h?.close();
});

async function fieldsOf(call: Promise<unknown>): Promise<string[]> {
  const error = await call.then(
    () => {
      throw new Error('expected INVALID_ARGUMENT');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvalidArgumentError);
  return (error as InvalidArgumentError).violations.map((v) => v.field);
}

describe('caller checks', () => {
  it('refuses calls without a valid token, with the wrong role, or outside the compound', async () => {
    const request = { compoundId: h.compoundId };
    await expect(h.client.listVehicles(request)).rejects.toThrow(UnauthenticatedError);
    const forged = await mintCallerMetadata(
      { subject: 'x', role: 'district_admin', compounds: 'all' },
      'k'.repeat(40),
    );
    await expect(h.client.listVehicles(request, { metadata: forged })).rejects.toThrow(UnauthenticatedError);
    await expect(
      h.client.listVehicles(request, { metadata: await h.as({ role: 'resident' }) }),
    ).rejects.toThrow(PermissionDeniedError);
    await expect(
      h.client.listVehicles(
        { compoundId: randomCompoundId() },
        { metadata: await h.as({ role: 'property_staff' }) },
      ),
    ).rejects.toThrow(/outside the caller's scope/);
    await expect(
      h.client.listWatchlistEntries(
        {},
        { metadata: await h.as({ role: 'district_admin', compounds: 'all' }) },
      ),
    ).rejects.toThrow(PermissionDeniedError);
  });
});

describe('town/street officers, auditors and platform operators', () => {
  it('an area scope reads its compounds, not another area; auditors and operators write nothing', async () => {
    const staff = await h.as({ role: 'property_staff' });
    const { vehicle } = await h.client.createVehicle(
      {
        vehicle: {
          compoundId: h.compoundId,
          plateNumber: '鲁C9A001',
          plateColor: PlateColor.PLATE_COLOR_BLUE,
        },
      },
      { metadata: staff },
    );
    const officer = await h.as({ role: 'street_officer', compounds: [], areas: [h.compoundId.slice(0, 9)] });
    const listed = await h.client.listVehicles({ compoundId: h.compoundId }, { metadata: officer });
    expect(listed.vehicles.map((v) => v.vehicleId)).toContain(vehicle!.vehicleId);
    const otherArea = await h.as({ role: 'street_officer', compounds: [], areas: ['370303002'] });
    await expect(
      h.client.listVehicles({ compoundId: h.compoundId }, { metadata: otherArea }),
    ).rejects.toThrow(PermissionDeniedError);
    await expect(
      h.client.getVehicle({ vehicleId: vehicle!.vehicleId }, { metadata: otherArea }),
    ).rejects.toThrow(NotFoundError);
    await expect(
      h.client.deleteVehicle({ vehicleId: vehicle!.vehicleId }, { metadata: officer }),
    ).rejects.toThrow(PermissionDeniedError);

    for (const role of ['auditor', 'platform_operator'] as const) {
      const who = await h.as({ role, compounds: 'all' });
      await expect(
        h.client.deleteVehicle({ vehicleId: vehicle!.vehicleId }, { metadata: who }),
      ).rejects.toThrow(PermissionDeniedError);
    }
    const auditor = await h.as({ role: 'auditor', compounds: 'all' });
    expect(
      (await h.client.getVehicle({ vehicleId: vehicle!.vehicleId }, { metadata: auditor })).vehicle
        ?.plateNumber,
    ).toBe('鲁C9A001');
  });
});

describe('vehicles', () => {
  it('creates, reads, updates, lists and deletes a vehicle with a normalised plate', async () => {
    const staff = await h.as({ role: 'property_staff' });
    const owner = randomUUID();
    const { vehicle } = await h.client.createVehicle(
      {
        vehicle: {
          compoundId: h.compoundId,
          plateNumber: '鲁ｃ·ｄ１２３４５',
          plateColor: PlateColor.PLATE_COLOR_GREEN,
          vehicleType: VehicleType.VEHICLE_TYPE_SUV,
          ownerPersonId: owner,
          parkingSpace: 'B1-023',
        },
      },
      { metadata: staff },
    );
    expect(vehicle).toMatchObject({ plateNumber: '鲁CD12345', ownerPersonId: owner, plateConfusable: false });
    await expect(
      h.client.createVehicle(
        { vehicle: { compoundId: h.compoundId, plateNumber: '鲁CD12345' } },
        { metadata: staff },
      ),
    ).rejects.toThrow(AlreadyExistsError);

    const { vehicle: updated } = await h.client.updateVehicle(
      {
        vehicle: {
          ...vehicle,
          parkingSpace: 'B2-001',
          validity: { endTime: timestampFromDate(new Date(Date.now() + 365 * 24 * hour)) },
        },
      },
      { metadata: staff },
    );
    expect(updated?.parkingSpace).toBe('B2-001');
    const guard = await h.as({ role: 'guard' });
    expect(
      (await h.client.getVehicle({ vehicleId: vehicle!.vehicleId }, { metadata: guard })).vehicle
        ?.parkingSpace,
    ).toBe('B2-001');
    const { vehicles } = await h.client.listVehicles(
      { compoundId: h.compoundId, plateNumber: '鲁CD12345' },
      { metadata: guard },
    );
    expect(vehicles.map((v) => v.vehicleId)).toEqual([vehicle!.vehicleId]);

    await expect(
      h.client.getVehicle(
        { vehicleId: vehicle!.vehicleId },
        { metadata: await h.as({ role: 'guard', compounds: ['elsewhere'] }) },
      ),
    ).rejects.toThrow(NotFoundError);
    await h.client.deleteVehicle({ vehicleId: vehicle!.vehicleId }, { metadata: staff });
    await h.client.deleteVehicle({ vehicleId: vehicle!.vehicleId }, { metadata: staff });
    await expect(h.client.getVehicle({ vehicleId: vehicle!.vehicleId }, { metadata: guard })).rejects.toThrow(
      NotFoundError,
    );
  });

  it('publishes every registration change through the outbox: added, updated, removed', async () => {
    const staff = await h.as({ role: 'property_staff' });
    const owner = randomUUID();
    const { vehicle } = await h.client.createVehicle(
      {
        vehicle: {
          compoundId: h.compoundId,
          plateNumber: '鲁C7R001',
          plateColor: PlateColor.PLATE_COLOR_BLUE,
          ownerPersonId: owner,
          parkingSpace: 'A-001',
        },
      },
      { metadata: staff },
    );
    const vehicleId = vehicle!.vehicleId!;
    const changes = () => h.registryChanges.filter((c) => c.vehicle?.vehicleId === vehicleId);
    const wait = (n: number) =>
      waitFor(() => changes()[n - 1], { timeoutMs: 30_000, message: `change ${n}` });
    const added = await wait(1);
    expect(added.change).toBe(VehicleChange.VEHICLE_CHANGE_ADDED);
    expect(added.meta?.compoundId).toBe(h.compoundId);
    expect(added.vehicle).toMatchObject({
      plateNumber: '鲁C7R001',
      ownerPersonId: owner,
      parkingSpace: 'A-001',
    });

    await h.client.updateVehicle({ vehicle: { ...vehicle, parkingSpace: 'A-002' } }, { metadata: staff });
    const updated = await wait(2);
    expect(updated.change).toBe(VehicleChange.VEHICLE_CHANGE_UPDATED);
    expect(updated.vehicle?.parkingSpace).toBe('A-002');

    // A refused change publishes nothing: the event is in the transaction of the write.
    await expect(
      h.client.createVehicle(
        { vehicle: { compoundId: h.compoundId, plateNumber: '鲁C7R001' } },
        { metadata: staff },
      ),
    ).rejects.toThrow(AlreadyExistsError);

    await h.client.deleteVehicle({ vehicleId }, { metadata: staff });
    const removed = await wait(3);
    expect(removed.change).toBe(VehicleChange.VEHICLE_CHANGE_REMOVED);
    expect(removed.vehicle?.plateNumber).toBe('鲁C7R001');
    // Deleting again is a no-op: nothing more is published.
    await h.client.deleteVehicle({ vehicleId }, { metadata: staff });
    const marker = await h.client.createVehicle(
      { vehicle: { compoundId: h.compoundId, plateNumber: '鲁C7R002' } },
      { metadata: staff },
    );
    await waitFor(() => h.registryChanges.find((c) => c.vehicle?.vehicleId === marker.vehicle?.vehicleId), {
      timeoutMs: 30_000,
    });
    expect(changes()).toHaveLength(3);
  });

  it('refuses invalid vehicles with one violation per field', async () => {
    const staff = await h.as({ role: 'property_staff' });
    expect(
      await fieldsOf(
        h.client.createVehicle(
          {
            vehicle: {
              compoundId: h.compoundId,
              plateNumber: '鲁C123',
              plateColor: 42 as anfang.common.v1.PlateColor,
              ownerPersonId: 'bob',
              validity: {
                startTime: timestampFromDate(new Date(Date.now() + hour)),
                endTime: timestampFromDate(new Date()),
              },
            },
          },
          { metadata: staff },
        ),
      ),
    ).toEqual(['vehicle.plate_number', 'vehicle.plate_color', 'vehicle.owner_person_id', 'vehicle.validity']);
    const error = await h.client
      .createVehicle({ vehicle: { compoundId: h.compoundId, plateNumber: '台A12345' } }, { metadata: staff })
      .catch((e: InvalidArgumentError) => e);
    expect((error as InvalidArgumentError).violations).toEqual([
      { field: 'vehicle.plate_number', description: 'unknown province abbreviation 台' },
    ]);
  });

  it('pages through vehicles in plate order', async () => {
    const compoundId = randomCompoundId();
    const staff = await h.as({ role: 'property_staff', compounds: [compoundId] });
    for (const plate of ['京A00003', '京A00001', '京A00002'])
      await h.client.createVehicle({ vehicle: { compoundId, plateNumber: plate } }, { metadata: staff });
    const first = await h.client.listVehicles({ compoundId, page: { pageSize: 2 } }, { metadata: staff });
    expect(first.vehicles.map((v) => v.plateNumber)).toEqual(['京A00001', '京A00002']);
    const second = await h.client.listVehicles(
      { compoundId, page: { pageSize: 2, pageToken: first.page!.nextPageToken } },
      { metadata: staff },
    );
    expect(second.vehicles.map((v) => v.plateNumber)).toEqual(['京A00003']);
    expect(second.page?.nextPageToken).toBe('');
    await expect(
      h.client.listVehicles({ compoundId, page: { pageToken: 'garbage' } }, { metadata: staff }),
    ).rejects.toThrow(/invalid page token/);
  });

  it('imports a CSV with progress and per-row errors, and re-imports it without changes', async () => {
    const staff = await h.as({ role: 'property_staff' });
    const other = randomCompoundId();
    const lines = ['compound_id,plate_number,plate_color,vehicle_type,parking_space'];
    for (let i = 0; i < 250; i++)
      lines.push(`${h.compoundId},浙B${String(i).padStart(5, '0')},蓝,CAR,P-${i}`);
    lines.push(`${h.compoundId},浙B0000,蓝,CAR,`); // too short
    lines.push(`${other},浙C00001,,,`); // not the caller's compound
    lines.push(`${h.compoundId},浙B00001,黄,TRUCK,P-1`); // the same plate again
    const csv = new TextEncoder().encode(lines.join('\n'));

    const run = async () => {
      const messages: anfang.vehicle.v1.ImportVehiclesResponse[] = [];
      for await (const message of h.client.importVehicles({ csv }, { metadata: staff }))
        messages.push(message);
      return messages;
    };
    const messages = await run();
    const last = messages.at(-1)!;
    expect(messages.length).toBeGreaterThan(2);
    expect(messages.slice(0, -1).every((m) => !m.done)).toBe(true);
    expect(last).toMatchObject({
      done: true,
      total: 253,
      processed: 253,
      created: 250,
      updated: 0,
      failed: 3,
    });
    expect(last.errors.map((e) => [e.line, e.violations?.[0]?.field])).toEqual([
      [252, 'plate_number'],
      [253, 'compound_id'],
      [254, 'plate_number'],
    ]);

    const again = (await run()).at(-1)!;
    expect(again).toMatchObject({ created: 0, updated: 0, unchanged: 250, failed: 3 });

    await expect(
      (async () => {
        for await (const message of h.client.importVehicles(
          { csv: new TextEncoder().encode('plate\n鲁C12345') },
          { metadata: staff },
        ))
          void message;
      })(),
    ).rejects.toThrow(/unknown column\(s\) plate/);
  });
});

describe('visitor authorisations', () => {
  it('keeps the visitor phone encrypted at rest and returns it masked', async () => {
    const resident = await h.as({ role: 'resident', subject: 'resident-42' });
    const { authorisation } = await h.client.createVisitorAuthorisation(
      {
        authorisation: {
          compoundId: h.compoundId,
          plateNumber: '鲁C55555',
          visitorPhone: '138 1234 5678',
          hostPersonId: randomUUID(),
          note: '搬家',
          window: {
            startTime: timestampFromDate(new Date()),
            endTime: timestampFromDate(new Date(Date.now() + 4 * hour)),
          },
        },
      },
      { metadata: resident },
    );
    expect(authorisation).toMatchObject({
      visitorPhone: '138****5678',
      authorisedBy: 'resident-42',
      authorisedByRole: 'resident',
    });
    const { rows } = await raw.query(
      'SELECT visitor_phone_enc FROM visitor_authorisations WHERE authorisation_id = $1',
      [authorisation!.authorisationId],
    );
    expect(rows[0].visitor_phone_enc).toMatch(/^v1\./);
    expect(rows[0].visitor_phone_enc).not.toContain('5678');

    const { authorisations } = await h.client.listVisitorAuthorisations(
      { compoundId: h.compoundId, activeOnly: true },
      { metadata: await h.as({ role: 'guard' }) },
    );
    expect(
      authorisations.find((a) => a.authorisationId === authorisation!.authorisationId)?.visitorPhone,
    ).toBe('138****5678');

    await expect(
      h.client.revokeVisitorAuthorisation(
        { authorisationId: authorisation!.authorisationId },
        { metadata: await h.as({ role: 'resident', subject: 'someone-else' }) },
      ),
    ).rejects.toThrow(/only their own/);
    const { authorisation: revoked } = await h.client.revokeVisitorAuthorisation(
      { authorisationId: authorisation!.authorisationId },
      { metadata: resident },
    );
    expect(revoked?.revokedAt).toBeTruthy();
  });

  it('refuses windows that are missing, reversed, too long or over', async () => {
    const staff = await h.as({ role: 'property_staff' });
    const window = (start: number, end: number) => ({
      startTime: timestampFromDate(new Date(Date.now() + start)),
      endTime: timestampFromDate(new Date(Date.now() + end)),
    });
    const create = (w?: ReturnType<typeof window>) =>
      h.client.createVisitorAuthorisation(
        { authorisation: { compoundId: h.compoundId, plateNumber: '鲁C55556', ...(w ? { window: w } : {}) } },
        { metadata: staff },
      );
    expect(await fieldsOf(create())).toEqual(['authorisation.window']);
    await expect(create(window(hour, 0))).rejects.toThrow(InvalidArgumentError);
    await expect(create(window(0, 40 * 24 * hour))).rejects.toThrow(InvalidArgumentError);
    await expect(create(window(-2 * hour, -hour))).rejects.toThrow(InvalidArgumentError);
  });
});

describe('watchlist', () => {
  it('is the police role’s, validates entries and protects disposition entries', async () => {
    const police = await h.as({ role: 'police', compounds: 'all' });
    expect(
      await fieldsOf(
        h.client.setWatchlistEntry({ entry: { plateNumber: 'XYZ', reason: '' } }, { metadata: police }),
      ),
    ).toEqual(['entry.plate_number', 'entry.reason', 'entry.priority']);
    const { entry } = await h.client.setWatchlistEntry(
      { entry: { plateNumber: '鲁C77777', reason: '套牌嫌疑', priority: Priority.PRIORITY_MEDIUM } },
      { metadata: police },
    );
    const { entry: replaced } = await h.client.setWatchlistEntry(
      { entry: { ...entry, reason: '套牌车', priority: Priority.PRIORITY_HIGH } },
      { metadata: police },
    );
    expect(replaced).toMatchObject({ entryId: entry!.entryId, reason: '套牌车', createdBy: 'user-police' });
    await h.client.removeWatchlistEntry({ entryId: entry!.entryId }, { metadata: police });
    const { entries } = await h.client.listWatchlistEntries(
      { plateNumber: '鲁C77777' },
      { metadata: police },
    );
    expect(entries).toEqual([]);
    await expect(
      h.client.setWatchlistEntry(
        { entry: { plateNumber: '鲁C77777', reason: 'x', priority: Priority.PRIORITY_LOW } },
        { metadata: new Metadata() },
      ),
    ).rejects.toThrow(UnauthenticatedError);
  });
});
