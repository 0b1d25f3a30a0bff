import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { anfang } from './generated/proto.js';
import { EchoService, services } from './generated/services.ts';
import type { ServiceHandlers } from './grpc.ts';
import {
  fileDescriptorProtos,
  fileDescriptorSet,
  reflectionPackageDefinition,
  reflectionRoot,
} from './reflection.ts';
import { timestampNow, timestampToMillis } from './time.ts';

const handlers: ServiceHandlers<typeof EchoService> = {
  echo(call, callback) {
    const request: anfang.platform.v1.EchoRequest = call.request;
    if (request.message === 'fail') {
      callback({ code: grpc.status.INVALID_ARGUMENT, details: 'asked to fail' });
      return;
    }
    callback(null, { message: request.message, payload: request.payload, serverTime: timestampNow() });
  },
};

describe('EchoService over grpc-js on loopback', () => {
  let server: grpc.Server;
  let client: InstanceType<typeof EchoService.Client>;

  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(EchoService.definition, handlers);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) =>
        error ? reject(error) : resolve(p),
      ),
    );
    client = new EchoService.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client?.close();
    await new Promise<void>((resolve) => (server ? server.tryShutdown(() => resolve()) : resolve()));
  });

  const echo = (request: anfang.platform.v1.EchoRequest.$Properties, metadata = new grpc.Metadata()) =>
    new Promise<anfang.platform.v1.EchoResponse>((resolve, reject) =>
      client.echo(request, metadata, { deadline: Date.now() + 5_000 }, (error, response) =>
        error ? reject(error) : resolve(response!),
      ),
    );

  it('serializes requests and responses with the static codecs', async () => {
    const payload = Buffer.from('0123456789abcdef'.repeat(64));
    const before = Date.now();
    const response = await echo({ message: '你好, Anfang', payload });
    expect(response.message).toBe('你好, Anfang');
    expect(Buffer.from(response.payload).equals(payload)).toBe(true);
    expect(timestampToMillis(response.serverTime)).toBeGreaterThanOrEqual(before - 1000);
  });

  it('carries status codes', async () => {
    await expect(echo({ message: 'fail' })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'asked to fail',
    });
  });

  it('also answers under the proto method name (Echo) for generic clients', async () => {
    const Generic = grpc.makeGenericClientConstructor(
      EchoService.definition,
      'anfang.platform.v1.EchoService',
    );
    const generic = new Generic(
      client
        .getChannel()
        .getTarget()
        .replace(/^ipv4:/, ''),
      grpc.credentials.createInsecure(),
    ) as grpc.Client &
      Record<
        string,
        (req: unknown, cb: (e: grpc.ServiceError | null, r?: anfang.platform.v1.EchoResponse) => void) => void
      >;
    const response = await new Promise<anfang.platform.v1.EchoResponse>((resolve, reject) =>
      generic['Echo']!({ message: 'x' }, (e, r) => (e ? reject(e) : resolve(r!))),
    );
    expect(response.message).toBe('x');
    generic.close();
  });
});

describe('service description', () => {
  it('has the gRPC path and google.api.http rules', () => {
    expect(services['anfang.platform.v1.EchoService']).toBe(EchoService);
    expect(EchoService.name).toBe('anfang.platform.v1.EchoService');
    expect(EchoService.methods.echo.path).toBe('/anfang.platform.v1.EchoService/Echo');
    expect(EchoService.definition.echo.path).toBe('/anfang.platform.v1.EchoService/Echo');
    expect(EchoService.methods.echo.http).toEqual([
      { method: 'POST', path: '/v1/echo', pathParams: [], body: '*', responseBody: '' },
      { method: 'GET', path: '/v1/echo/{message}', pathParams: ['message'], body: '', responseBody: '' },
    ]);
    expect(EchoService.methods.echo.requestTypeName).toBe('anfang.platform.v1.EchoRequest');
  });

  it('has a descriptor set that gRPC reflection serves', () => {
    expect(fileDescriptorSet().length).toBeGreaterThan(1000);
    expect(fileDescriptorProtos().length).toBeGreaterThan(10);
    const reflection = new ReflectionService(
      reflectionPackageDefinition([EchoService.name]) as unknown as ConstructorParameters<
        typeof ReflectionService
      >[0],
      { services: [EchoService.name] },
    );
    // The v1 implementation is what the reflection RPC calls; ask it directly.
    const v1 = (
      reflection as unknown as { v1: { handleServerReflectionRequest(m: unknown): Record<string, unknown> } }
    ).v1;
    const list = v1.handleServerReflectionRequest({ messageRequest: 'listServices', listServices: '*' });
    expect(list['listServicesResponse']).toEqual({ service: [{ name: 'anfang.platform.v1.EchoService' }] });
    const file = v1.handleServerReflectionRequest({
      messageRequest: 'fileContainingSymbol',
      fileContainingSymbol: 'anfang.platform.v1.EchoRequest',
    });
    expect(file['errorResponse']).toBeUndefined();
    expect(
      (file['fileDescriptorResponse'] as { fileDescriptorProto: Uint8Array[] }).fileDescriptorProto.length,
    ).toBeGreaterThanOrEqual(2);
    // And it registers on a real server.
    const server = new grpc.Server();
    reflection.addToServer(server);
    server.forceShutdown();
  });

  it('has a JSON descriptor for reflection-based tools', () => {
    const method = reflectionRoot().lookupService('anfang.platform.v1.EchoService').methods['Echo'];
    expect(method?.requestType).toBe('EchoRequest');
  });
});
