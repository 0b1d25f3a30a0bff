import { anfang, timestampFromDate, topics } from '@anfang/contracts';
import { describe, expect, it } from 'vitest';
import { MalformedEventError, MEDIA_READERS, mediaRows } from './sources.ts';

const { ImageKind } = anfang.common.v1;
const event = {
  eventId: '0190b5a4-0000-7000-8000-000000000001',
  eventType: 'anfang.device.v1.PlateRead',
  compoundId: '370303001001001',
  occurredAt: new Date('2026-11-01T08:00:00Z'),
};
const read = MEDIA_READERS.get(topics.devicePlateRead.name)!;

describe('mediaRows', () => {
  it('reads every image with its class, plate, size and checksum', () => {
    const shot = new Date('2026-11-01T07:59:58Z');
    const rows = mediaRows(
      read,
      {
        device: { deviceId: 'cam-1' },
        hasPlate: true,
        plateNumber: '鲁c12345',
        images: [
          {
            objectKey: 'device-ingest/captures/a-1.jpg',
            kind: ImageKind.IMAGE_KIND_VEHICLE,
            sizeBytes: 1234,
            sha256: 'A'.repeat(64),
            capturedAt: timestampFromDate(shot),
          },
          { objectKey: 'device-ingest/captures/a-2.jpg', kind: ImageKind.IMAGE_KIND_DRIVER_FACE },
        ],
      },
      event,
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      imageClass: 'vehicles',
      plateNumber: '鲁C12345',
      sizeBytes: 1234,
      sha256: 'a'.repeat(64),
      capturedAt: shot,
      deviceId: 'cam-1',
    });
    expect(rows[1]).toMatchObject({
      imageClass: 'faces',
      sizeBytes: null,
      sha256: '',
      capturedAt: event.occurredAt,
    });
  });

  it('has nothing to index for an event without images', () => {
    expect(mediaRows(read, { hasPlate: false }, { ...event, compoundId: '' })).toEqual([]);
  });

  it('refuses images without a compound or a key', () => {
    expect(() => mediaRows(read, { images: [{ objectKey: 'k' }] }, { ...event, compoundId: '' })).toThrow(
      MalformedEventError,
    );
    expect(() => mediaRows(read, { images: [{ objectKey: ' ' }] }, event)).toThrow(/object_key is empty/);
  });
});
