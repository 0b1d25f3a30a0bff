import { credentials, makeGenericClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { setTimeout as sleep } from 'node:timers/promises';

const HealthClient = makeGenericClientConstructor(healthService, 'grpc.health.v1.Health');

export interface HealthTarget {
  /** host:port */
  readonly address: string;
  /** The health-service name; '' is the server's overall status. */
  readonly service: string;
}

/** `host:port/service.Name` (service optional) as the chart writes it into the test Pod. */
export function parseHealthTarget(text: string): HealthTarget {
  const match = /^([^/\s]+:\d{1,5})\/?(\S*)$/.exec(text);
  if (!match) throw new Error(`health target ${JSON.stringify(text)}: expected host:port/service`);
  return { address: match[1]!, service: match[2]! };
}

/** One Health/Check call: the serving status name, or the gRPC error's message. */
export async function checkHealth(target: HealthTarget, deadlineMs = 5000): Promise<string> {
  const client = new HealthClient(target.address, credentials.createInsecure());
  try {
    return await new Promise<string>((resolve) => {
      client['check']!(
        { service: target.service },
        { deadline: Date.now() + deadlineMs },
        (err: ServiceError | null, reply?: { status?: string | number }) => {
          if (err) resolve(`error: ${err.details || err.message}`);
          else resolve(String(reply?.status ?? 'UNKNOWN'));
        },
      );
    });
  } finally {
    client.close();
  }
}

/** Polls until the target is SERVING; rejects with the last answer when `timeoutMs` runs out. */
export async function waitServing(target: HealthTarget, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = 'never asked';
  while (Date.now() < until) {
    last = await checkHealth(target);
    if (last === 'SERVING') return;
    await sleep(500);
  }
  throw new Error(`${target.address} (${target.service || 'overall'}) is not SERVING: ${last}`);
}
