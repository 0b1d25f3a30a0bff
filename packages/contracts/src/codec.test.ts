import { describe, expect, it } from 'vitest';
import { eventCodecs } from './generated/codecs.ts';
import { anfang } from './generated/proto.js';
import { messageCodec } from './codec.ts';
import { timestampFromMillis, timestampToMillis } from './time.ts';

const { Direction, ImageKind, PlateColor, SpoofCheckResult, VehicleColor, VehicleType, DeviceType, Module } =
  anfang.common.v1;

describe('event codecs', () => {
  const codec = eventCodecs['anfang.device.v1.PlateRead'];
  const occurredMs = Date.UTC(2026, 0, 31, 8, 15, 30, 123);
  const event: anfang.device.v1.PlateRead.$Properties = {
    meta: {
      eventId: '7b0e8f1c-2a3d-5e4f-8a9b-0c1d2e3f4a5b',
      eventType: 'anfang.device.v1.PlateRead',
      occurredAt: timestampFromMillis(occurredMs),
      recordedAt: timestampFromMillis(occurredMs + 250),
      producer: 'device-ingest',
      compoundId: '370303001001001',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    },
    device: {
      deviceId: '0190d1b2-6c1e-7a00-8000-0000000000aa',
      gat1400Id: '37030300001210000001',
      deviceType: DeviceType.DEVICE_TYPE_PLATE_CAMERA,
      module: Module.MODULE_VEHICLE_ACCESS,
      direction: Direction.DIRECTION_IN,
    },
    sourceObjectId: '370303000012100000010220260131081530000010200001',
    hasPlate: true,
    plateNumber: '鲁CD12345',
    plateColor: PlateColor.PLATE_COLOR_GREEN,
    vehicleColor: VehicleColor.VEHICLE_COLOR_WHITE,
    vehicleType: VehicleType.VEHICLE_TYPE_SUV,
    direction: Direction.DIRECTION_IN,
    lane: 2,
    confidence: 0.875,
    spoofCheck: SpoofCheckResult.SPOOF_CHECK_RESULT_GENUINE,
    images: [
      {
        objectKey: 'device-ingest/370303001001001/2026/01/31/dev/evt-vehicle.jpg',
        contentType: 'image/jpeg',
        sizeBytes: 5_000_000_000, // > 2^32: int64 stays a number
        sha256: 'a'.repeat(64),
        kind: ImageKind.IMAGE_KIND_VEHICLE,
      },
      { objectKey: 'k2', kind: ImageKind.IMAGE_KIND_PLATE },
    ],
    plateBox: { left: 10, top: 20, right: 110, bottom: 60 },
  };

  it('round-trips an event: encode → decode gives the same values', () => {
    const decoded = codec.decode(codec.encode(event));
    expect(decoded).toBeInstanceOf(anfang.device.v1.PlateRead);
    expect(codec.toObject(decoded, { defaults: false })).toEqual(
      codec.toObject(codec.fromObject(event as Record<string, unknown>)),
    );
    expect(decoded.plateNumber).toBe('鲁CD12345');
    expect(decoded.meta?.compoundId).toBe('370303001001001');
    expect(timestampToMillis(decoded.meta?.occurredAt)).toBe(occurredMs);
    expect(decoded.images[0]?.sizeBytes).toBe(5_000_000_000);
    expect(typeof decoded.meta?.occurredAt?.seconds).toBe('number');
    expect(decoded.confidence).toBeCloseTo(0.875, 6);
    expect(decoded.plateBox).toMatchObject({ left: 10, top: 20, right: 110, bottom: 60 });
    // Unset scalars read as their defaults.
    expect(decoded.vehicleBrand).toBe('');
    expect(decoded.images[1]?.sizeBytes).toBe(0);
  });

  it('round-trips oneofs', () => {
    const c = eventCodecs['anfang.device.v1.CredentialPresented'];
    const decoded = c.decode(c.encode({ meta: { eventId: 'e' }, card: { cardNumber: '00A1B2C3' } }));
    expect(decoded.credential).toBe('card');
    expect(decoded.card?.cardNumber).toBe('00A1B2C3');
    expect(decoded.pin).toBeFalsy();
  });

  it('converts to and from proto3-style JSON objects (enum names, int64 strings)', () => {
    const json = codec.toObject(codec.decode(codec.encode(event)), {
      enums: String,
      longs: String,
      bytes: String,
    });
    expect(json['plateColor']).toBe('PLATE_COLOR_GREEN');
    expect((json['images'] as { sizeBytes: string }[])[0]?.sizeBytes).toBe('5000000000');
    const back = codec.fromObject(JSON.parse(JSON.stringify(json)) as Record<string, unknown>);
    expect(back.plateColor).toBe(PlateColor.PLATE_COLOR_GREEN);
    expect(back.images[0]?.sizeBytes).toBe(5_000_000_000);
    expect(codec.verify({ plateNumber: 'X', lane: 2, plateColor: PlateColor.PLATE_COLOR_BLUE })).toBeNull();
    expect(codec.verify({ lane: 'two' })).toMatch(/lane/);
  });

  it('keeps fields it does not know (additive changes pass through old consumers)', () => {
    // A newer producer adds field 99 (string) to PlateRead; an older consumer re-encodes it.
    const known = codec.encode({ plateNumber: 'X' });
    const extra = Uint8Array.from([0x9a, 0x06, 0x03, 0x6e, 0x65, 0x77]); // field 99, wire type 2, "new"
    const withExtra = new Uint8Array([...known, ...extra]);
    const decoded = codec.decode(withExtra);
    expect(decoded.plateNumber).toBe('X');
    const reencoded = codec.encode(decoded);
    expect(Buffer.from(reencoded).includes(Buffer.from(extra))).toBe(true);
  });

  it('rejects malformed bytes', () => {
    expect(() => codec.decode(Uint8Array.from([0x0a, 0xff]))).toThrow();
  });

  it('wraps any generated message with messageCodec()', () => {
    const c = messageCodec('anfang.common.v1.StandardAddress', anfang.common.v1.StandardAddress);
    const address = c.decode(
      c.encode({
        code: '370303001001001',
        level: anfang.common.v1.AddressLevel.ADDRESS_LEVEL_COMPOUND,
        compound: { code: '370303001001001', name: '天晓小区' },
      }),
    );
    expect(address.compound?.name).toBe('天晓小区');
    expect(c.typeName).toBe('anfang.common.v1.StandardAddress');
  });
});
