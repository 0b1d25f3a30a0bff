/**
 * Online/offline, decided from heartbeats and traffic. A device is online from the moment it is
 * seen; it is offline once it has been silent for heartbeat interval × allowed misses. These are
 * pure decisions; the ActivityTracker (src/ingest/activity.ts) is the single owner that applies
 * them, one device at a time, and Postgres makes them safe across replicas.
 */
export type DeviceStatus = 'online' | 'offline';

export interface StatusPolicy {
  /** Expected heartbeat period, ms. */
  readonly heartbeatIntervalMs: number;
  /** Heartbeats that may be missed before the device is offline. */
  readonly allowedMisses: number;
}

export function silenceTimeoutMs(policy: StatusPolicy): number {
  return policy.heartbeatIntervalMs * policy.allowedMisses;
}

/** The status a device has at `now`, given when it was last seen (undefined: never). */
export function statusAt(lastSeenAt: Date | undefined, now: Date, policy: StatusPolicy): DeviceStatus {
  if (!lastSeenAt) return 'offline';
  return now.getTime() - lastSeenAt.getTime() < silenceTimeoutMs(policy) ? 'online' : 'offline';
}

/**
 * The status to report for a device (GetDeviceStatus, GET /status/devices): online only if it is
 * active, the status table says online AND it is within its silence timeout now — between a
 * missed deadline and the next sweep the table may still say online, and a device is never shown
 * online when it is not.
 */
export function reportedStatus(
  active: boolean,
  stored: { readonly status: DeviceStatus; readonly lastSeenAt: Date } | undefined,
  now: Date,
  policy: StatusPolicy,
): DeviceStatus {
  return active && stored?.status === 'online' && statusAt(stored.lastSeenAt, now, policy) === 'online'
    ? 'online'
    : 'offline';
}

/** Latest moment of silence after which a device counts as timed out. */
export function offlineCutoff(now: Date, policy: StatusPolicy): Date {
  return new Date(now.getTime() - silenceTimeoutMs(policy));
}

export type StatusReason = 'heartbeat' | 'traffic' | 'heartbeat-timeout';

export interface StatusTransition {
  readonly previous: DeviceStatus | undefined;
  readonly status: DeviceStatus;
  readonly reason: StatusReason;
}

/** Being seen: a transition to online unless already online. */
export function onSeen(current: DeviceStatus | undefined, heartbeat: boolean): StatusTransition | undefined {
  if (current === 'online') return undefined;
  return { previous: current, status: 'online', reason: heartbeat ? 'heartbeat' : 'traffic' };
}

/**
 * Timing out: offline only if online and silent past the cutoff; a device seen after the cutoff
 * (even a moment ago, by any replica) stays online.
 */
export function onTimeoutCheck(
  current: DeviceStatus | undefined,
  lastSeenAt: Date | undefined,
  now: Date,
  policy: StatusPolicy,
): StatusTransition | undefined {
  if (current !== 'online') return undefined;
  if (statusAt(lastSeenAt, now, policy) === 'online') return undefined;
  return { previous: current, status: 'offline', reason: 'heartbeat-timeout' };
}
