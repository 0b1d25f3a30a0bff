import type { SimDevice } from '../catalog.ts';
import type { SimEvent } from '../events.ts';
import type { DigestSession, Transport } from '../transport.ts';

/** A device while the simulator runs it. */
export interface DeviceRuntime {
  readonly device: SimDevice;
  secret: string;
  /** Device clock minus real clock, ms (drifts; reset by a time-sync command). */
  skewMs: number;
  /** Drift of the device clock, ms gained per real hour. */
  driftMsPerHour: number;
  /** Real time (ms) until which the device is offline; 0 when online. */
  offlineUntil: number;
  /** The device's own capture numbering. */
  serial: number;
  /** Real time (ms) of the next heartbeat/keepalive. */
  nextHeartbeatAt: number;
  /** Whether the device holds a GA/T 1400 registration. */
  registered: boolean;
  digest: DigestSession | undefined;
  /** Captures made while offline, sent (flagged as retransmissions) when back. Bounded. */
  readonly backlog: SimEvent[];
}

export interface ProtocolIo {
  readonly transport: Transport;
  /** Real time, ms. */
  readonly now: () => number;
}

/** What the platform made of a delivery, counted per object. */
export interface Delivery {
  readonly accepted: number;
  readonly rejected: number;
  /** HTTP status of the (last) answer; 0 when there was none. */
  readonly status: number;
  /** Short reason of a refusal, for the log. */
  readonly reason?: string;
}

export function deviceNow(rt: DeviceRuntime, realMs: number): Date {
  return new Date(realMs + rt.skewMs);
}

export function allOrNothing(status: number, count: number, reason?: string): Delivery {
  const ok = status >= 200 && status < 300;
  return {
    accepted: ok ? count : 0,
    rejected: ok ? 0 : count,
    status,
    ...(ok || reason === undefined ? {} : { reason }),
  };
}

export function shortReason(body: Buffer): string {
  return body.toString('utf8').replace(/\s+/g, ' ').slice(0, 200);
}
