/**
 * Smoke check of the generated contracts through the package's public entry point:
 * `pnpm --filter @anfang/contracts smoke` (after codegen). Encodes and decodes an event of the
 * catalogue, then calls EchoService over a real grpc-js server and client on loopback.
 * The same checks run as vitest tests (src/codec.test.ts, src/grpc.test.ts).
 */
import * as grpc from '@grpc/grpc-js';
import {
  anfang,
  EchoService,
  timestampNow,
  timestampToMillis,
  topics,
  type ServiceHandlers,
} from '../src/index.ts';

const topic = topics.devicePlateRead;
const sent = {
  meta: {
    eventId: '0190d1b2-6c1e-7a00-8000-000000000001',
    eventType: topic.payload.typeName,
    occurredAt: timestampNow(),
    producer: 'smoke',
  },
  device: { deviceId: 'dev-1', deviceType: anfang.common.v1.DeviceType.DEVICE_TYPE_PLATE_CAMERA },
  plateNumber: '鲁C12345',
  plateColor: anfang.common.v1.PlateColor.PLATE_COLOR_BLUE,
  direction: anfang.common.v1.Direction.DIRECTION_IN,
  confidence: 0.93,
  images: [
    {
      objectKey: 'smoke/vehicle.jpg',
      sizeBytes: 123_456,
      kind: anfang.common.v1.ImageKind.IMAGE_KIND_VEHICLE,
    },
  ],
};
const bytes = topic.payload.encode(sent);
const received = topic.payload.decode(bytes);
const same =
  received.plateNumber === sent.plateNumber &&
  received.meta?.eventId === sent.meta.eventId &&
  timestampToMillis(received.meta?.occurredAt) === timestampToMillis(sent.meta.occurredAt) &&
  received.images[0]?.sizeBytes === 123_456;
process.stdout.write(
  `event ${topic.name} key=${topic.keyOf(sent)}: ${bytes.length} bytes, round trip ${same ? 'ok' : 'MISMATCH'}\n`,
);

const handlers: ServiceHandlers<typeof EchoService> = {
  echo: (call, callback) =>
    callback(null, {
      message: call.request.message,
      payload: call.request.payload,
      serverTime: timestampNow(),
    }),
};
const server = new grpc.Server();
server.addService(EchoService.definition, handlers);
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) =>
    error ? reject(error) : resolve(p),
  ),
);
const client = new EchoService.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
const response = await new Promise<anfang.platform.v1.EchoResponse>((resolve, reject) =>
  client.echo({ message: 'ping' }, (error, r) => (error ? reject(error) : resolve(r!))),
);
client.close();
await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
const echoed = response.message === 'ping';
process.stdout.write(
  `grpc ${EchoService.methods.echo.path} on 127.0.0.1:${port}: ${echoed ? 'ok' : 'MISMATCH'}\n`,
);
if (!same || !echoed) process.exitCode = 1;
