/** The camera registry over gRPC and from device-ingest's registry topic, with role and scope checks. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang, topics } from '@anfang/contracts';
import {
  AlreadyExistsError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
} from '@anfang/platform/grpc';
import { waitFor } from '@anfang/testing';
import { startHarness, type Harness } from './harness.ts';

const { ZoneGroup } = anfang.video.v1;
let h: Harness;
beforeAll(async () => {
  h = await startHarness('video-cameras');
});
afterAll(async () => {
  await h?.close();
});

describe('cameras', () => {
  it('creates, updates, lists, filters and deletes cameras of the caller compound', async () => {
    const camera = {
      compoundId: h.compoundId,
      name: '3号楼电梯轿厢',
      zoneGroup: ZoneGroup.ZONE_GROUP_BUILDINGS,
      rtspUrl: 'rtsp://10.0.3.7/Streaming/Channels/101',
      gb28181Id: '37030300001320000007',
      frontendStorageDays: 5,
    };
    const { camera: created } = await h.client.createCamera({ camera }, { metadata: h.manager });
    expect(created).toMatchObject({ ...camera, frontendStorageCompliant: false });
    await expect(h.client.createCamera({ camera }, { metadata: h.manager })).rejects.toBeInstanceOf(
      AlreadyExistsError,
    );
    await expect(
      h.client.createCamera(
        { camera: { ...camera, name: 'x', rtspUrl: 'rtsp://u:p@h/s' } },
        { metadata: h.manager },
      ),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(
      h.client.createCamera(
        { camera: { ...camera, compoundId: '370303999999999' } },
        { metadata: h.manager },
      ),
    ).rejects.toBeInstanceOf(PermissionDeniedError);
    const guard = await h.metadataFor({ subject: 'g', role: 'guard', compounds: [h.compoundId] });
    await expect(
      h.client.createCamera({ camera: { ...camera, name: 'y' } }, { metadata: guard }),
    ).rejects.toBeInstanceOf(PermissionDeniedError);

    const { camera: updated } = await h.client.updateCamera(
      { camera: { ...created, frontendStorageDays: 30 } },
      { metadata: h.manager },
    );
    expect(updated?.frontendStorageCompliant).toBe(true);
    await h.client.createCamera(
      {
        camera: { compoundId: h.compoundId, name: '北门广场全景', zoneGroup: ZoneGroup.ZONE_GROUP_PANORAMA },
      },
      { metadata: h.manager },
    );
    const { cameras: panoramas } = await h.client.listCameras(
      { compoundId: h.compoundId, zoneGroup: ZoneGroup.ZONE_GROUP_PANORAMA },
      { metadata: guard },
    );
    expect(panoramas.map((c) => c.name)).toEqual(['北门广场全景']);
    const { cameras: nonCompliant } = await h.client.listCameras(
      { compoundId: h.compoundId, nonCompliantOnly: true },
      { metadata: guard },
    );
    expect(nonCompliant.map((c) => c.name)).toEqual(['北门广场全景']);
    const { nonCompliantCameras } = await h.client.getStorageFigures({}, { metadata: h.manager });
    expect(nonCompliantCameras).toEqual([
      expect.objectContaining({ compoundId: h.compoundId, cameras: 1, total: 2 }),
    ]);

    const other = await h.metadataFor({
      subject: 'o',
      role: 'community_manager',
      compounds: ['370303999999999'],
    });
    await expect(
      h.client.getCamera({ cameraId: created!.cameraId }, { metadata: other }),
    ).rejects.toBeInstanceOf(NotFoundError);
    await h.client.deleteCamera({ cameraId: created!.cameraId }, { metadata: h.manager });
    await expect(
      h.client.getCamera({ cameraId: created!.cameraId }, { metadata: h.manager }),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  it('a town/street officer sees its area only; auditors and platform operators register no camera', async () => {
    const area = h.compoundId.slice(0, 9);
    const elsewhere = `370304${h.compoundId.slice(6)}`;
    const camera = { name: '区域测试', zoneGroup: ZoneGroup.ZONE_GROUP_PANORAMA };
    await h.client.createCamera({ camera: { ...camera, compoundId: h.compoundId } }, { metadata: h.admin });
    await h.client.createCamera({ camera: { ...camera, compoundId: elsewhere } }, { metadata: h.admin });
    const officer = await h.metadataFor({
      subject: 's',
      role: 'street_officer',
      compounds: [],
      areas: [area],
    });

    const { cameras } = await h.client.listCameras({ compoundId: h.compoundId }, { metadata: officer });
    expect(cameras.map((c) => c.name)).toContain('区域测试');
    await expect(
      h.client.listCameras({ compoundId: elsewhere }, { metadata: officer }),
    ).rejects.toBeInstanceOf(PermissionDeniedError);
    const { nonCompliantCameras } = await h.client.getStorageFigures({}, { metadata: officer });
    expect(nonCompliantCameras.map((c) => c.compoundId)).toContain(h.compoundId);
    expect(nonCompliantCameras.every((c) => c.compoundId!.startsWith(area))).toBe(true);

    for (const role of ['auditor', 'platform_operator'] as const) {
      const reader = await h.metadataFor({ subject: role, role, compounds: 'all' });
      const figures = await h.client.getStorageFigures({}, { metadata: reader });
      expect(figures.nonCompliantCameras.map((c) => c.compoundId)).toContain(elsewhere);
      await expect(
        h.client.createCamera(
          { camera: { ...camera, name: role, compoundId: elsewhere } },
          { metadata: reader },
        ),
      ).rejects.toBeInstanceOf(PermissionDeniedError);
    }
  });

  it('imports a CSV file with a report of every refused row', async () => {
    const csv = [
      'compound_id,name,zone_group,rtsp_url,frontend_storage_days',
      `${h.compoundId},东门,公共区域,rtsp://10.0.0.1/a,30`,
      `${h.compoundId},配电房,key_rooms,,10`,
      `${h.compoundId},西门,nowhere,,`,
      `370303999999999,外区,panorama,,`,
    ].join('\n');
    const messages = [];
    for await (const m of h.client.importCameras({ csv: Buffer.from(csv) }, { metadata: h.manager }))
      messages.push(m);
    const last = messages[messages.length - 1]!;
    expect(last).toMatchObject({ done: true, total: 4, created: 2, failed: 2 });
    expect(last.errors.map((e) => [e.line, e.violations![0]!.field])).toEqual([
      [4, 'zone_group'],
      [5, 'compound_id'],
    ]);
    const again = [];
    for await (const m of h.client.importCameras({ csv: Buffer.from(csv) }, { metadata: h.manager }))
      again.push(m);
    expect(again[again.length - 1]).toMatchObject({ unchanged: 2, created: 0 });
  });

  it('learns video cameras from the device registry', async () => {
    const deviceId = randomUUID();
    await h.deviceIngest.publish(
      topics.deviceRegistry,
      {
        change: anfang.device.v1.DeviceChangeKind.DEVICE_CHANGE_KIND_CREATED,
        device: {
          deviceId,
          name: '楼下高空抛物 1',
          deviceType: anfang.common.v1.DeviceType.DEVICE_TYPE_VIDEO_CAMERA,
          module: anfang.common.v1.Module.MODULE_VIDEO_THROWING,
          compoundId: h.compoundId,
          gat1400Id: '37030300001320000099',
          revision: 1,
        },
      },
      { compoundId: h.compoundId },
    );
    const camera = await waitFor(
      async () => {
        const { cameras } = await h.client.listCameras({ compoundId: h.compoundId }, { metadata: h.manager });
        return cameras.find((c) => c.deviceId === deviceId);
      },
      { timeoutMs: 30_000 },
    );
    expect(camera).toMatchObject({
      zoneGroup: ZoneGroup.ZONE_GROUP_THROWING,
      gb28181Id: '37030300001320000099',
    });
  });
});
