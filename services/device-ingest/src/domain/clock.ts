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

/** The ClockFilter's window: a few heartbeats (30 s by default) and longer than a queue lasts. */
export const DEFAULT_CLOCK_WINDOW_MS = 30_000;

/** Device − platform, ms: positive when the device's clock is ahead. */
export function clockOffsetMs(receivedAt: Date, deviceTime: Date): number {
  return deviceTime.getTime() - receivedAt.getTime();
}

/** One offset measured at platform time `at` (epoch ms). */
export interface OffsetSample {
  readonly at: number;
  readonly offsetMs: number;
}

/**
 * A device's clock offset judged on its least-delayed sample of the last `windowMs` (the NTP
 * clock filter's idea). A sample is device send time − platform receive time, i.e. the true
 * offset minus the message's delay (network, and the platform's own request queue under
 * overload), and a delay is never negative: the sample with the smallest receive − send, the
 * largest offset, is the closest to the truth. Judged on every sample alone, a queue of a few
 * seconds read as drift of every device at once, with time syncs queued for clocks that were
 * right. The price: a clock stepped back (further behind) shows only once the window has passed
 * the earlier samples; a step forward, or a behind clock corrected, shows at once.
 */
export class ClockFilter {
  /**
   * Samples that may still become the best one, flat: [at, offsetMs, at, offsetMs, …], offsets
   * strictly decreasing, times increasing — one or two pairs, for every device that sends its
   * time. Rebuilt at its exact length on each sample: an array of sample objects grown by push
   * reserved 17 slots and took ~270 B a device, this takes ~80.
   */
  #kept: readonly number[] = [];

  readonly #windowMs: number;

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  /** Adds a sample and returns the window's best one (the estimate to judge drift on). */
  add(sample: OffsetSample): OffsetSample {
    const kept = this.#kept;
    let from = 0;
    while (from < kept.length && kept[from]! <= sample.at - this.#windowMs) from += 2;
    // An older sample with no larger offset can never be the best again: the new one outlives it.
    let to = kept.length;
    while (to > from && kept[to - 1]! <= sample.offsetMs) to -= 2;
    const next = kept.slice(from, to).concat(sample.at, sample.offsetMs);
    this.#kept = next;
    return next.length === 2 ? sample : { at: next[0]!, offsetMs: next[1]! };
  }
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
