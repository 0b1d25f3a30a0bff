// A small handwritten service (JSON on the wire) for the gRPC helper tests.
import type { MethodDefinition } from '@grpc/grpc-js';

const encode = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const decode = (bytes: Buffer): never => JSON.parse(bytes.toString('utf8')) as never;

function method<Req, Res, const RS extends boolean, const SS extends boolean>(
  name: string,
  requestStream: RS,
  responseStream: SS,
): MethodDefinition<Req, Res> & { requestStream: RS; responseStream: SS } {
  return {
    path: `/anfang.test.v1.TestService/${name}`,
    requestStream,
    responseStream,
    requestSerialize: encode as (value: Req) => Buffer,
    requestDeserialize: decode as (bytes: Buffer) => Req,
    responseSerialize: encode as (value: Res) => Buffer,
    responseDeserialize: decode as (bytes: Buffer) => Res,
  };
}

export interface EchoRequest {
  text: string;
  /** Throw this kind of error instead of answering. */
  fail?: string;
  sleepMs?: number;
}
export interface EchoResponse {
  text: string;
  traceId?: string;
  deadline?: number;
}

export const TestService = {
  echo: method<EchoRequest, EchoResponse, false, false>('Echo', false, false),
  count: method<{ upTo: number }, { n: number }, false, true>('Count', false, true),
  sum: method<{ n: number }, { total: number }, true, false>('Sum', true, false),
  chat: method<{ text: string }, { text: string }, true, true>('Chat', true, true),
};
