/**
 * Caller identity across a real gRPC server and client: the client interceptor names the caller,
 * the server's verifier reads it, a missing or foreign token is UNAUTHENTICATED, and a call's own
 * metadata wins over the interceptor's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authenticatedService,
  callerInterceptor,
  createCallerVerifier,
  mintCallerMetadata,
  requireRole,
  type Caller,
} from '../src/auth/index.ts';
import {
  createGrpcClient,
  createGrpcServer,
  grpcService,
  InvalidArgumentError,
  PermissionDeniedError,
  UnauthenticatedError,
  type GrpcServer,
} from '../src/grpc/index.ts';
import { createLogger } from '../src/log/index.ts';
import { TestService } from './grpc.fixture.ts';

const KEY = 'caller-token-key-for-the-auth-test-0123456789';
const guard: Caller = { subject: 'u-guard', role: 'guard', compounds: ['370303001001'] };
const police: Caller = { subject: 'u-police', role: 'police', compounds: 'all' };

let server: GrpcServer;
let address: string;
let guarded: GrpcServer;
let guardedAddress: string;

beforeAll(async () => {
  const verifier = createCallerVerifier({ key: KEY });
  const unimplemented = () => {
    throw new Error('not used');
  };
  server = await createGrpcServer({
    port: 0,
    logger: createLogger({ service: 'auth-test', level: 'silent' }),
    services: [
      grpcService(TestService, {
        echo: async (request, ctx) => {
          const caller = await verifier.verify(ctx.metadata);
          if (request.fail === 'police-only') requireRole(caller, 'police');
          return { text: `${caller.subject}/${caller.role}` };
        },
        count: unimplemented,
        sum: unimplemented,
        chat: unimplemented,
      }),
    ],
  });
  address = `127.0.0.1:${server.port}`;

  // A service whose handlers validate before they look at the caller.
  guarded = await createGrpcServer({
    port: 0,
    logger: createLogger({ service: 'auth-test', level: 'silent' }),
    services: [
      authenticatedService(
        grpcService(TestService, {
          echo: (request) => {
            if (!request.text) throw new InvalidArgumentError('text is required');
            return { text: request.text };
          },
          count: async function* (request) {
            for (let n = 1; n <= request.upTo; n++) yield { n };
          },
          sum: unimplemented,
          chat: unimplemented,
        }),
        verifier,
      ),
    ],
  });
  guardedAddress = `127.0.0.1:${guarded.port}`;
});

afterAll(async () => {
  await server?.shutdown();
  await guarded?.shutdown();
});

describe('caller identity over gRPC', () => {
  it('the interceptor names the caller on every call; the handler checks its role', async () => {
    const client = createGrpcClient(TestService, address, { interceptors: [callerInterceptor(guard, KEY)] });
    try {
      expect((await client.echo({ text: 'a' })).text).toBe('u-guard/guard');
      expect((await client.echo({ text: 'b' })).text).toBe('u-guard/guard');
      await expect(client.echo({ text: 'c', fail: 'police-only' })).rejects.toBeInstanceOf(
        PermissionDeniedError,
      );
      const own = await mintCallerMetadata(police, KEY);
      expect((await client.echo({ text: 'd', fail: 'police-only' }, { metadata: own })).text).toBe(
        'u-police/police',
      );
    } finally {
      client.close();
    }
  });

  it('no token, or one signed with another key, is UNAUTHENTICATED', async () => {
    const anonymous = createGrpcClient(TestService, address);
    const foreign = createGrpcClient(TestService, address, {
      interceptors: [callerInterceptor(police, 'another-key-that-is-long-enough-0123456789')],
    });
    try {
      await expect(anonymous.echo({ text: 'x' })).rejects.toBeInstanceOf(UnauthenticatedError);
      await expect(foreign.echo({ text: 'x' })).rejects.toBeInstanceOf(UnauthenticatedError);
    } finally {
      anonymous.close();
      foreign.close();
    }
  });

  it('authenticatedService refuses an anonymous call before its handler validates anything', async () => {
    const anonymous = createGrpcClient(TestService, guardedAddress);
    const known = createGrpcClient(TestService, guardedAddress, {
      interceptors: [callerInterceptor(guard, KEY)],
    });
    try {
      await expect(anonymous.echo({ text: '' })).rejects.toBeInstanceOf(UnauthenticatedError);
      const streamed = async (client: typeof known) => {
        const got: number[] = [];
        for await (const m of client.count({ upTo: 3 })) got.push(m.n);
        return got;
      };
      await expect(streamed(anonymous)).rejects.toBeInstanceOf(UnauthenticatedError);
      await expect(known.echo({ text: '' })).rejects.toBeInstanceOf(InvalidArgumentError);
      expect((await known.echo({ text: 'hi' })).text).toBe('hi');
      expect(await streamed(known)).toEqual([1, 2, 3]);
    } finally {
      anonymous.close();
      known.close();
    }
  });
});
