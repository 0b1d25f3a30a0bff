/**
 * A DeviceRegistryService client for tests, calling as an installer of every compound (the
 * caller token is signed with the key serviceTestEnv gives the service).
 */
import { DeviceRegistryService } from '@anfang/contracts';
import { callerInterceptor, type Caller } from '@anfang/platform/auth';
import { createGrpcClient, type GrpcClient, type GrpcClientOptions } from '@anfang/platform/grpc';
import { TEST_CALLER_TOKEN_KEY } from '@anfang/testing';

export const INSTALLER: Caller = { subject: 'u-installer', role: 'district_admin', compounds: 'all' };

export type RegistryClient = GrpcClient<typeof DeviceRegistryService.definition>;

export function registryClient(
  port: number,
  options: GrpcClientOptions = {},
  caller: Caller = INSTALLER,
): RegistryClient {
  return createGrpcClient(DeviceRegistryService.definition, `127.0.0.1:${port}`, {
    ...options,
    interceptors: [callerInterceptor(caller, TEST_CALLER_TOKEN_KEY)],
  });
}
