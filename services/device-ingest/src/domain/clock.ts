/**
 * Clock offset and drift classification. offset = device time − platform receive time (positive:
 * the device is ahead), the convention of anfang.device.v1 (ClockDriftChanged.offset_ms,
 * GetDeviceStatusResponse.clock_offset_ms) and of device_activity.clock_offset_ms. |offset| > warning threshold (1 s) flags the device and queues a time
 * sync; > alarm threshold (5 s) raises a device alarm. Back to OK only once |offset| is under
 * the warning threshold minus a small hysteresis, so a clock hovering at 1 s does not flap.
 */
export type DriftSeverity = 'ok' | 'warning' | 'alarm';

export interface DriftThresholds {
  readonly warningMs: number;
  readonly alarmMs: number;
  /** A flagged device returns to ok only below warningMs − hysteresisMs. */
  readonly hysteresisMs: number;
}

export const DEFAULT_DRIFT_THRESHOLDS: DriftThresholds = {
  warningMs: 1000,
  alarmMs: 5000,
  hysteresisMs: 200,
};

/** Device − platform, ms: positive when the device's clock is ahead. */
export function clockOffsetMs(receivedAt: Date, deviceTime: Date): number {
  return deviceTime.getTime() - receivedAt.getTime();
}

export function classifyDrift(
  offsetMs: number,
  previous: DriftSeverity = 'ok',
  t: DriftThresholds = DEFAULT_DRIFT_THRESHOLDS,
): DriftSeverity {
  const abs = Math.abs(offsetMs);
  if (abs > t.alarmMs) return 'alarm';
  if (abs > t.warningMs) return 'warning';
  if (previous !== 'ok' && abs > t.warningMs - t.hysteresisMs) return 'warning';
  return 'ok';
}

const RANK: Record<DriftSeverity, number> = { ok: 0, warning: 1, alarm: 2 };

export interface DriftChange {
  readonly previous: DriftSeverity;
  readonly severity: DriftSeverity;
  /** Queue a time-sync command (entering warning or alarm from ok). */
  readonly queueTimeSync: boolean;
  /** Raise (true) or clear (false) the device's clock-drift alarm; undefined: no change. */
  readonly alarm?: boolean;
}

/** What a new offset sample changes, or undefined when the severity stays the same. */
export function driftChange(
  previous: DriftSeverity,
  offsetMs: number,
  t: DriftThresholds = DEFAULT_DRIFT_THRESHOLDS,
): DriftChange | undefined {
  const severity = classifyDrift(offsetMs, previous, t);
  if (severity === previous) return undefined;
  const alarm = severity === 'alarm' ? true : previous === 'alarm' ? false : undefined;
  return {
    previous,
    severity,
    queueTimeSync: RANK[previous] === 0 && RANK[severity] > 0,
    ...(alarm === undefined ? {} : { alarm }),
  };
}
